"""Image loaders on small files the tests write; bad files give one sentence; run-folder writing."""

import gzip
import pickle

import numpy as np
import pytest
import torch

from pdesym.errors import PdesymError
from pdesym.images.data import ImageSet, load_cifar10, load_digits, load_folder, load_images, load_mnist, load_npz, rotate_randomly


def _pixels(n=6, h=5, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w), dtype=np.uint8)


def test_npz_round_trip_and_bad_files(tmp_path):
    img, lab = _pixels(), np.array([3, 1, 3, 7, 1, 7])
    np.savez(tmp_path / "d.npz", images=img, labels=lab)
    d = load_npz(tmp_path / "d.npz")
    assert d.images.shape == (6, 1, 5, 7) and torch.allclose(d.images[:, 0], torch.from_numpy(img / 255.0))
    assert d.classes == ["1", "3", "7"] and d.labels.tolist() == [1, 0, 1, 2, 0, 2]
    np.savez(tmp_path / "rgb.npz", images=np.stack([img] * 3, -1), labels=lab)
    assert load_images(tmp_path / "rgb.npz").images.shape == (6, 3, 5, 7)
    np.savez(tmp_path / "nolabels.npz", images=img)
    with pytest.raises(PdesymError, match="'images' and 'labels'"):
        load_npz(tmp_path / "nolabels.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(PdesymError, match="not a readable .npz"):
        load_npz(tmp_path / "junk.npz")
    np.savez(tmp_path / "short.npz", images=img, labels=lab[:4])
    with pytest.raises(PdesymError, match="6 images but 4 labels"):
        load_npz(tmp_path / "short.npz")


def test_class_folders_round_trip_and_size_mismatch(tmp_path):
    from PIL import Image

    img = _pixels(4, 6, 6)
    for i, cls in enumerate(["cat", "cat", "dog", "dog"]):
        (tmp_path / cls).mkdir(exist_ok=True)
        Image.fromarray(img[i], mode="L").save(tmp_path / cls / f"{i}.png")
    d = load_images(tmp_path)
    assert d.classes == ["cat", "dog"] and d.labels.tolist() == [0, 0, 1, 1]
    assert torch.allclose(d.images[:, 0], torch.from_numpy(img / 255.0))
    Image.fromarray(_pixels(1, 8, 8)[0], mode="L").save(tmp_path / "dog" / "big.png")
    with pytest.raises(PdesymError, match="resize them to one size"):
        load_folder(tmp_path)
    (tmp_path / "dog" / "big.png").write_bytes(b"garbage")
    with pytest.raises(PdesymError, match="not a readable image"):
        load_folder(tmp_path)


def _idx(data: np.ndarray, magic: int) -> bytes:
    head = magic.to_bytes(4, "big")
    return head + b"".join(int(s).to_bytes(4, "big") for s in data.shape) + data.tobytes()


def test_mnist_idx_plain_and_gzip_and_truncated(tmp_path):
    img, lab = _pixels(10, 4, 4), np.arange(10, dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(img, 2051))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(lab, 2049))
    d = load_images(tmp_path)
    assert d.images.shape == (10, 1, 4, 4) and d.labels.tolist() == list(range(10))
    assert torch.allclose(d.images[:, 0], torch.from_numpy(img / 255.0))
    gz = tmp_path / "gz"
    gz.mkdir()
    with gzip.open(gz / "t10k-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(_idx(img, 2051))
    with gzip.open(gz / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(_idx(lab, 2049))
    assert torch.equal(load_mnist(gz / "t10k-images-idx3-ubyte.gz").images, d.images)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(img, 2051)[:-5])
    with pytest.raises(PdesymError, match="truncated"):
        load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(img, 2051))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(lab, 2051))  # wrong magic number
    with pytest.raises(PdesymError, match="not an MNIST idx file of labels"):
        load_mnist(tmp_path / "train-images-idx3-ubyte")


def test_cifar10_pickles_and_bad_pickle(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(5, 3 * 8 * 8), dtype=np.uint8)
    labels = [0, 2, 1, 2, 0]
    with open(tmp_path / "data_batch_1", "wb") as fh:
        pickle.dump({b"data": data, b"labels": labels}, fh)
    with open(tmp_path / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [b"plane", b"car", b"bird"]}, fh)
    d = load_images(tmp_path)
    assert d.images.shape == (5, 3, 8, 8) and d.classes == ["plane", "car", "bird"] and d.labels.tolist() == labels
    assert torch.allclose(d.images.reshape(5, -1), torch.from_numpy(data / 255.0))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "test_batch").write_bytes(b"\x80\x04junk")
    with pytest.raises(PdesymError, match="not a CIFAR-10 python batch"):
        load_cifar10(tmp_path / "bad")


def test_builtin_digits_rotation_and_unknown_inputs(tmp_path):
    d = load_digits()
    assert d.images.shape == (1797, 1, 24, 24) and d.n_classes == 10
    assert float(d.images[..., :4, :].abs().max()) == 0.0  # zero padding keeps rotations inside the frame
    small = d.subset(torch.arange(20))
    same = rotate_randomly(small, seed=3, max_angle=1e-12)
    assert torch.allclose(same.images, small.images, atol=1e-9)
    r = load_images("rotated-digits", seed=1)
    assert torch.equal(r.labels, d.labels) and not torch.allclose(r.images, d.images)
    # a rotation moves mass around but keeps most of it (bilinear resampling, nothing leaves the frame)
    ratio = r.images.sum((1, 2, 3)) / d.images.sum((1, 2, 3))
    assert float((ratio - 1).abs().max()) < 0.15
    train, test = d.split(0.2, seed=0)
    assert len(train) + len(test) == 1797 and len(test) == 359
    with pytest.raises(PdesymError, match="neither a built-in set"):
        load_images(tmp_path / "missing")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(PdesymError, match="unknown format"):
        load_images(tmp_path / "x.txt")
    with pytest.raises(PdesymError):
        ImageSet(torch.zeros(3, 1, 8, 8), torch.zeros(2, dtype=torch.int64), ["a"], "x")


def test_run_folder_is_atomic_and_refuses_overwrite(tmp_path):
    from pdesym.images.report import write_run_folder

    out = tmp_path / "run"
    write_run_folder(out, {"a.txt": "one", "b.bin": b"\x00"})
    assert (out / "a.txt").read_text() == "one"
    with pytest.raises(PdesymError, match="--force"):
        write_run_folder(out, {"a.txt": "two"})

    def boom(path):
        raise RuntimeError("plot failed")

    with pytest.raises(RuntimeError):
        write_run_folder(out, {"a.txt": "two", "c.png": boom}, force=True)
    assert (out / "a.txt").read_text() == "one"  # the old folder survives a failed write
    write_run_folder(out, {"a.txt": "two"}, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary leftovers


def test_cli_bad_data_is_one_sentence(cli, tmp_path):
    res = cli("images", "discover", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert res.exit_code != 0 and "neither a built-in set" in res.output and "Traceback" not in res.output
    (tmp_path / "bad.npz").write_bytes(b"xx")
    res = cli("images", "semola", "--data", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "o"))
    assert res.exit_code != 0 and "not a readable .npz" in res.output
    res = cli("images", "discover", "--classifier-aug", "warp", "--out", str(tmp_path / "o"))
    assert res.exit_code != 0 and "Unknown classifier augmentation 'warp'" in res.output
    (tmp_path / "o").mkdir()
    res = cli("images", "semola", "--out", str(tmp_path / "o"))
    assert res.exit_code != 0 and "--force" in res.output
