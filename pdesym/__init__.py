"""pdesym: find the continuous (Lie point) symmetries of PDEs and of data, prove them, use them.

The public names are re-exported here; the sub-packages follow the pipeline
(equations -> solvers -> datasets -> jets -> validity -> discovery -> symbolic -> augment).
"""

from pdesym.equations import EQUATION_PRESETS, Equation, get_equation
from pdesym.errors import PdesymError

__version__ = "0.1.0"

__all__ = ["EQUATION_PRESETS", "Equation", "PdesymError", "get_equation", "__version__"]
