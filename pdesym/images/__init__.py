"""Symmetries of image data: vector fields on pixel coordinates, flows as warps, a classifier's validity.

* :mod:`pdesym.images.data` — digits (offline), .npz, class folders, MNIST idx, CIFAR-10 pickles.
* :mod:`pdesym.images.classifier` — a small CNN, its training augmentation an explicit option.
* :mod:`pdesym.images.discovery` — K learned fields scored by the classifier (``pdesym images discover``).
* :mod:`pdesym.images.semola` — joint learnable augmentation over a learned algebra (``pdesym images semola``).
"""
