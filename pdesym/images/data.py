r"""Labelled image sets: scikit-learn's bundled digits (offline default) and user data.

Every loader returns an :class:`ImageSet` with ``images`` (N, C, H, W) scaled to [0, 1] and
``labels`` (N,) int64. Sources: ``digits`` (8×8 upsampled bicubically to 16×16 and zero-padded to
24×24, so that rotations do not cut strokes off), ``rotated-digits`` (each image rotated by its
own random angle in [-π, π)), ``.npz`` files (``images``, ``labels``), folders of images per class,
MNIST idx files and the CIFAR-10 python pickles. Bad files raise one clear sentence.
"""

from __future__ import annotations

import gzip
import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pdesym.errors import PdesymError

__all__ = [
    "BUILTIN",
    "IMAGE_SUFFIXES",
    "ImageSet",
    "load_images",
    "load_digits",
    "load_npz",
    "load_folder",
    "load_mnist",
    "load_cifar10",
    "rotate_randomly",
]

#: Data sets that ship with a package (no download).
BUILTIN = {
    "digits": "scikit-learn's 1797 handwritten digits, 8×8 -> 16×16 bicubic, padded to 24×24",
    "rotated-digits": "the same digits, each rotated by its own random angle in [-π, π)",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff", ".webp")


@dataclass
class ImageSet:
    """Images (N, C, H, W) in [0, 1] (float64 on the CPU), integer labels (N,), class names, provenance."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    source: str
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.dim() != 4 or self.labels.dim() != 1 or self.images.shape[0] != self.labels.shape[0]:
            raise PdesymError(
                f"Images must be (N, C, H, W) with N labels; got images {tuple(self.images.shape)} and labels {tuple(self.labels.shape)}."
            )
        if self.images.shape[0] < 2:
            raise PdesymError(f"{self.source} holds {self.images.shape[0]} image(s); at least 2 are needed.")
        if min(self.images.shape[-2:]) < 4:
            raise PdesymError(f"The images of {self.source} are {tuple(self.images.shape[-2:])} pixels; at least 4×4 are needed.")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes (labels are 0..n_classes-1)."""
        return len(self.classes)

    def subset(self, index: torch.Tensor) -> "ImageSet":
        """The images at ``index`` (same classes and source)."""
        return ImageSet(self.images[index], self.labels[index], self.classes, self.source, list(self.notes))

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple["ImageSet", "ImageSet"]:
        """A seeded random split into (train, test)."""
        if not 0.0 < test_fraction < 1.0:
            raise PdesymError(f"test_fraction must lie in (0, 1), got {test_fraction}.")
        perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(int(seed)))
        n_test = max(1, int(round(test_fraction * len(self))))
        if n_test >= len(self):
            raise PdesymError(f"{self.source} is too small to split off a test set ({len(self)} images).")
        return self.subset(perm[n_test:]), self.subset(perm[:n_test])


def _finish(images: np.ndarray, labels: np.ndarray, source: str, classes: list[str] | None = None) -> ImageSet:
    """Scale to [0, 1], move channels first, map labels to 0..C-1."""
    img = np.asarray(images)
    lab = np.array(labels).reshape(-1)  # a copy: idx buffers are read-only
    if img.ndim == 3:
        img = img[:, None]
    elif img.ndim == 4 and img.shape[-1] in (1, 3, 4) and img.shape[1] not in (1, 3, 4):
        img = np.moveaxis(img, -1, 1)
    elif img.ndim != 4:
        raise PdesymError(f"{source}: images must be (N, H, W), (N, H, W, C) or (N, C, H, W) arrays, got shape {img.shape}.")
    if img.shape[0] != lab.shape[0]:
        raise PdesymError(f"{source}: {img.shape[0]} images but {lab.shape[0]} labels.")
    if not np.issubdtype(img.dtype, np.number) or not np.all(np.isfinite(img)):
        raise PdesymError(f"{source}: the images must be finite numbers.")
    img = img.astype(np.float64)
    if img.max() > 1.0 + 1e-9:
        img = img / 255.0 if img.max() <= 255.0 else (img - img.min()) / (img.max() - img.min())
    if img.min() < -1e-9:
        raise PdesymError(f"{source}: negative pixel values; give intensities in [0, 1] or 0..255.")
    if classes is None:
        uniq, lab = np.unique(lab, return_inverse=True)
        classes = [str(u) for u in uniq]
    return ImageSet(torch.from_numpy(np.ascontiguousarray(img)), torch.as_tensor(lab, dtype=torch.int64), classes, source)


def load_digits(*, size: int = 16, pad: int = 4) -> ImageSet:
    """scikit-learn's digits, upsampled 8×8 -> size×size (bicubic, clamped to [0, 1]) and zero-padded by ``pad``."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    img = torch.from_numpy(d.images / 16.0)[:, None]
    img = F.interpolate(img, size=(size, size), mode="bicubic", align_corners=False).clamp(0.0, 1.0)
    img = F.pad(img, (pad, pad, pad, pad))
    return ImageSet(img.contiguous(), torch.as_tensor(d.target, dtype=torch.int64), [str(i) for i in range(10)], "digits")


def rotate_randomly(data: ImageSet, seed: int = 0, max_angle: float = math.pi) -> ImageSet:
    """Each image rotated about the centre by its own angle drawn uniformly from [-max_angle, max_angle)."""
    from pdesym.flows import affine_warp_images
    from pdesym.generators import plane_affine_matrices

    gen = torch.Generator().manual_seed(int(seed))
    angles = (torch.rand(len(data), generator=gen, dtype=torch.float64) * 2.0 - 1.0) * max_angle
    a, b = plane_affine_matrices()
    with torch.no_grad():
        rotated = affine_warp_images(data.images, a[2:3], b[2:3], angles)
    out = ImageSet(rotated.clamp(0.0, 1.0), data.labels.clone(), data.classes, f"rotated-{data.source}", list(data.notes))
    out.notes.append(f"each image rotated by a random angle in [-{max_angle:.3g}, {max_angle:.3g}) (seed {seed})")
    return out


def load_npz(path: str | Path) -> ImageSet:
    """An .npz file with arrays ``images`` (N, H, W[, C]) or (N, C, H, W) and ``labels`` (N,)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if not {"images", "labels"} <= keys:
                raise PdesymError(f"{path} must hold arrays named 'images' and 'labels'; it has {sorted(keys) or 'none'}.")
            images, labels = z["images"], z["labels"]
    except PdesymError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise PdesymError(f"{path} is not a readable .npz file ({exc}).") from None
    return _finish(images, labels, path.name)


def load_folder(path: str | Path) -> ImageSet:
    """One sub-folder per class (its name is the class), image files inside, all of one size."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir())
    if not class_dirs:
        raise PdesymError(f"{path} has no sub-folders; put the images of each class in a folder named after the class.")
    arrays, labels, size = [], [], None
    files = [(ci, f) for ci, d in enumerate(class_dirs) for f in sorted(d.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise PdesymError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in its class folders.")
    opened = []
    for ci, f in files:
        try:
            with Image.open(f) as im:
                im.load()
                opened.append((ci, f, im.copy()))
        except (UnidentifiedImageError, OSError) as exc:
            raise PdesymError(f"{f} is not a readable image ({exc}).") from None
    # grey only when every file is grey; any colour (or palette) file makes the whole set RGB
    mode = "L" if all(im.mode in ("L", "1", "I", "I;16") for _, _, im in opened) else "RGB"
    for ci, f, im in opened:
        if size is None:
            size = im.size
        elif im.size != size:
            raise PdesymError(f"{f} is {im.size[0]}×{im.size[1]} pixels but the first image is {size[0]}×{size[1]}; resize them to one size.")
        arrays.append(np.asarray(im.convert(mode), dtype=np.float64))
        labels.append(ci)
    return _finish(np.stack(arrays) / 255.0, np.asarray(labels), path.name, [d.name for d in class_dirs])


def _open_maybe_gz(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        raise PdesymError(f"{path} cannot be read ({exc}).") from None


def _read_idx(path: Path, magic: int) -> np.ndarray:
    raw = _open_maybe_gz(path)
    if len(raw) < 8 or int.from_bytes(raw[:4], "big") != magic:
        kind = "images (magic 2051)" if magic == 2051 else "labels (magic 2049)"
        raise PdesymError(f"{path} is not an MNIST idx file of {kind}.")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise PdesymError(f"{path} is truncated: its header promises {int(np.prod(dims))} bytes, it holds {len(body)}.")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def load_mnist(path: str | Path, *, part: str = "train") -> ImageSet:
    """MNIST idx files: a folder holding ``{part}-images-idx3-ubyte[.gz]`` and the labels file, or the images file."""
    path = Path(path)
    if path.is_dir():
        prefix = "train" if part == "train" else "t10k"
        found = sorted(path.glob(f"{prefix}-images*idx3-ubyte*")) or sorted(path.glob("*idx3-ubyte*"))
        if not found:
            raise PdesymError(f"{path} holds no MNIST images file (*-images-idx3-ubyte[.gz]).")
        images_file = found[0]
    else:
        images_file = path
    labels_file = images_file.with_name(images_file.name.replace("images", "labels").replace("idx3", "idx1"))
    if not labels_file.exists():
        raise PdesymError(f"The labels file {labels_file.name} that belongs to {images_file.name} is missing.")
    images, labels = _read_idx(images_file, 2051), _read_idx(labels_file, 2049)
    return _finish(images, labels, images_file.name, [str(i) for i in range(10)] if labels.max() < 10 and labels.min() >= 0 and len(np.unique(labels)) == 10 else None)


def load_cifar10(path: str | Path) -> ImageSet:
    """CIFAR-10 python pickles: a folder with ``data_batch_*``/``test_batch`` (and ``batches.meta``), or one batch file."""
    path = Path(path)
    files = sorted(path.glob("data_batch_*")) + sorted(path.glob("test_batch")) if path.is_dir() else [path]
    if not files:
        raise PdesymError(f"{path} holds no CIFAR-10 batches (data_batch_1 … test_batch).")
    data, labels = [], []
    for f in files:
        try:
            with open(f, "rb") as fh:
                d = pickle.load(fh, encoding="bytes")
            arr = np.asarray(d[b"data"], dtype=np.uint8)
            lab = np.asarray(d.get(b"labels", d.get(b"fine_labels")))
        except (pickle.UnpicklingError, EOFError, KeyError, AttributeError, TypeError, ValueError, OSError) as exc:
            raise PdesymError(f"{f} is not a CIFAR-10 python batch ({type(exc).__name__}).") from None
        if arr.ndim != 2 or arr.shape[1] % 3 or arr.shape[0] != lab.shape[0]:
            raise PdesymError(f"{f} is not a CIFAR-10 python batch: 'data' must be (N, 3·H·W) with N labels.")
        side = int(round(math.sqrt(arr.shape[1] // 3)))
        data.append(arr.reshape(-1, 3, side, side))
        labels.append(lab)
    names = None
    meta = (path / "batches.meta") if path.is_dir() else path.with_name("batches.meta")
    if meta.exists():
        try:
            with open(meta, "rb") as fh:
                names = [n.decode() for n in pickle.load(fh, encoding="bytes")[b"label_names"]]
        except Exception:  # a broken meta file only loses the class names
            names = None
    all_labels = np.concatenate(labels)
    if names is not None and (all_labels.max() >= len(names)):
        names = None
    if names is not None:
        return _finish(np.concatenate(data), all_labels, path.name, names)
    return _finish(np.concatenate(data), all_labels, path.name)


def load_images(spec: str | Path, *, seed: int = 0, rotate: bool = False) -> ImageSet:
    """``digits`` | ``rotated-digits`` | a path (.npz, MNIST idx, CIFAR-10 folder/batch, class folders).

    ``rotate`` rotates every image by its own random angle (seeded), as ``rotated-digits`` does.
    """
    spec_s = str(spec)
    if spec_s in BUILTIN:
        data = load_digits()
        return rotate_randomly(data, seed=seed) if (spec_s == "rotated-digits" or rotate) else data
    path = Path(spec_s)
    if not path.exists():
        raise PdesymError(f"Data {spec_s!r} is neither a built-in set ({', '.join(BUILTIN)}) nor an existing path.")
    name = path.name.lower()
    if path.is_file():
        if name.endswith(".npz"):
            data = load_npz(path)
        elif "idx3-ubyte" in name:
            data = load_mnist(path)
        elif name.startswith(("data_batch", "test_batch")):
            data = load_cifar10(path)
        else:
            raise PdesymError(f"{path} has an unknown format; give an .npz file, an MNIST idx3-ubyte file, a CIFAR-10 batch or a folder.")
    elif any(path.glob("*idx3-ubyte*")):
        data = load_mnist(path)
    elif any(path.glob("data_batch_*")) or (path / "test_batch").exists():
        data = load_cifar10(path)
    else:
        data = load_folder(path)
    return rotate_randomly(data, seed=seed) if rotate else data
