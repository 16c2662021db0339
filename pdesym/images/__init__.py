"""Symmetries of image data: vector fields on pixel coordinates, flows as warps, a classifier's validity.

* :mod:`pdesym.images.data` — digits (offline), .npz, class folders, MNIST idx, CIFAR-10 pickles.
* :mod:`pdesym.images.classifier` — a small CNN, its training augmentation an explicit option.
* :mod:`pdesym.images.fields` — pixel-change metric, named affine fields and a swirl, span capture.
* :mod:`pdesym.images.discovery` — K learned fields scored by the classifier (``pdesym images discover``).
* :mod:`pdesym.images.semola` — joint learnable augmentation over a learned algebra (``pdesym images semola``).
* :mod:`pdesym.images.report`, :mod:`pdesym.images.runs` — run folders: symmetries.json, report.md, plots.

The shared, dimension-agnostic parts live in :mod:`pdesym.generators` and :mod:`pdesym.flows`.
"""
