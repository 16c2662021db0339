r"""Use symmetries: finite transformations of whole trajectories and augmented datasets (DESIGN.md §9).

Typical use::

    from pdesym.augment import GroupAction, transform_trajectories, SymmetryAugmentation
    from pdesym.symbolic import find_symmetries
    result = find_symmetries("kdv")
    action = GroupAction.from_fields(result.fields)            # exp(e_4 X4) ... exp(e_1 X1)
    out = transform_trajectories(trajectories, action, eps)     # eps (B, 4), resampled onto the grid
    train_operator(data, augment=SymmetryAugmentation(action, scales=(1, 0, 0.3, 0.02)))

Modules: :mod:`~pdesym.augment.flows` (one-parameter flows: sympy closed form, torchdiffeq,
learned fields), :mod:`~pdesym.augment.group` (several generators, per-sample parameters),
:mod:`~pdesym.augment.resample` (band-limited x, Lagrange t), :mod:`~pdesym.augment.transform`
(whole trajectories, target grid, time cropping), :mod:`~pdesym.augment.sampling` (random
parameters, training hook), :mod:`~pdesym.augment.residual` (PDE residual of sampled data),
:mod:`~pdesym.augment.generators` (reading symmetries files), :mod:`~pdesym.augment.dataset`
(augmented HDF5 files).
"""

from pdesym.augment.dataset import AugmentedWriter, AugmentSummary, augment_dataset
from pdesym.augment.flows import EPSILON, FieldFlow, closed_form_flow, integrate_flow
from pdesym.augment.generators import action_from_result, load_symmetries, same_equation, select_generators
from pdesym.augment.group import COMPOSITIONS, GroupAction
from pdesym.augment.resample import fourier_interpolate, interpolate_time, lagrange_stencil, sample_trajectories
from pdesym.augment.residual import relative_residual, spectral_derivative
from pdesym.augment.sampling import PrecomputedAugmentation, SymmetryAugmentation, draw_parameters, parse_scales
from pdesym.augment.transform import TransformReport, transform_trajectories

__all__ = [
    "AugmentSummary",
    "AugmentedWriter",
    "COMPOSITIONS",
    "EPSILON",
    "FieldFlow",
    "GroupAction",
    "PrecomputedAugmentation",
    "SymmetryAugmentation",
    "TransformReport",
    "action_from_result",
    "augment_dataset",
    "closed_form_flow",
    "draw_parameters",
    "fourier_interpolate",
    "integrate_flow",
    "interpolate_time",
    "lagrange_stencil",
    "load_symmetries",
    "parse_scales",
    "relative_residual",
    "same_equation",
    "sample_trajectories",
    "select_generators",
    "spectral_derivative",
    "transform_trajectories",
]
