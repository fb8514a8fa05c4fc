"""Image discovery (ids, collisions) and decoding (corrupt files are DataErrors)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vlkit.extract.images import list_images, load_pixels
from vlkit.utils.errors import ConfigError, DataError


def test_ids_are_relative_paths_without_extension(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (20, 16)).save(tmp_path / "b.png")
    Image.new("L", (20, 16)).save(tmp_path / "sub" / "a.JPG", format="JPEG")
    (tmp_path / "notes.txt").write_text("not an image")
    found = list_images(tmp_path)
    assert [i for i, _ in found] == ["b", "sub/a"]
    pixels = load_pixels(found[1][1])
    assert pixels.shape == (16, 20, 3) and pixels.dtype == np.uint8  # grey -> RGB


def test_id_collision_and_empty_folder(tmp_path):
    Image.new("RGB", (4, 3)).save(tmp_path / "x.png")
    Image.new("RGB", (4, 3)).save(tmp_path / "x.jpg")
    with pytest.raises(ConfigError, match="would both get the id 'x'"):
        list_images(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no .jpg/.jpeg/.png files"):
        list_images(tmp_path / "empty")
    with pytest.raises(ConfigError, match="is not a folder"):
        list_images(tmp_path / "missing")


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n garbage", b"hello world"])
def test_corrupt_files_raise_data_errors_naming_the_file(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        load_pixels(path)


def test_truncated_jpeg_is_a_data_error(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="cut.jpg"):
        load_pixels(path)


def test_grayscale_and_palette_become_rgb(tmp_path):
    grey = np.arange(20 * 16, dtype=np.uint8).reshape(16, 20)
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    np.testing.assert_array_equal(load_pixels(tmp_path / "grey.png"),
                                  np.repeat(grey[:, :, None], 3, axis=2))
    rgb = np.zeros((16, 20, 3), np.uint8)
    rgb[:, 10:] = [200, 30, 90]
    Image.fromarray(rgb).quantize(4).save(tmp_path / "palette.png")
    assert Image.open(tmp_path / "palette.png").mode == "P"
    np.testing.assert_array_equal(load_pixels(tmp_path / "palette.png"), rgb)
    indexed = Image.fromarray(rgb).quantize(4)
    indexed.save(tmp_path / "transparent.png", transparency=0)
    np.testing.assert_array_equal(load_pixels(tmp_path / "transparent.png"), rgb)


def test_alpha_is_dropped(tmp_path):
    rgba = np.zeros((16, 20, 4), np.uint8)
    rgba[..., :3] = [10, 120, 250]
    rgba[:, :5, 3] = 0  # transparent columns keep their colour, as OpenCV's imread
    rgba[:, 5:, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    np.testing.assert_array_equal(load_pixels(tmp_path / "alpha.png"), rgba[..., :3])


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path, mode):
    """A 16-bit PNG opens as "I;16" (or "I" in other Pillow versions: written as TIFF here,
    since Pillow cannot write "I" as PNG)."""
    values = np.array([0, 257, 32896, 65535] * 80, dtype=np.uint16).reshape(16, 20)
    path = tmp_path / ("deep.png" if mode == "I;16" else "deep.tif")
    (Image.fromarray(values.astype(np.int32), "I") if mode == "I" else Image.fromarray(values)
     ).save(path)
    assert Image.open(path).mode == mode
    pixels = load_pixels(path)
    expected = np.array([0, 1, 128, 255] * 80, dtype=np.uint8).reshape(16, 20)
    np.testing.assert_array_equal(pixels, np.repeat(expected[:, :, None], 3, axis=2))


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    rgb = np.zeros((16, 24, 3), np.uint8)
    rgb[:, :8] = [255, 0, 0]
    rgb[:, 8:16] = [0, 255, 0]
    rgb[:, 16:] = [255, 255, 255]
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "print.jpg", quality=100)
    assert Image.open(tmp_path / "print.jpg").mode == "CMYK"
    np.testing.assert_allclose(load_pixels(tmp_path / "print.jpg")[:, [3, 11, 20]],
                               rgb[:, [3, 11, 20]], atol=6)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((16, 32, 3), np.uint8)  # stored landscape, red on the left
    pixels[:, :16] = [255, 0, 0]
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "phone.jpg", exif=exif, quality=100)
    upright = load_pixels(tmp_path / "phone.jpg")
    assert upright.shape == (32, 16, 3)  # portrait, as viewers show it
    assert upright[2, 8, 0] > 200 and upright[29, 8, 0] < 50  # red now on top


@pytest.mark.parametrize(("size", "message"), [((15, 40), "15x40 pixels; a side under 16"),
                                               ((40, 8), "40x8 pixels; a side under 16")])
def test_tiny_images_are_data_errors(tmp_path, size, message):
    Image.new("RGB", size).save(tmp_path / "speck.png")
    with pytest.raises(DataError, match=f"speck.png: image is {message}"):
        load_pixels(tmp_path / "speck.png")


def test_huge_images_are_refused_before_decoding(tmp_path, monkeypatch):
    from vlkit.extract import images

    Image.new("RGB", (100, 90)).save(tmp_path / "huge.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 8_999)  # the real limit is 80 megapixels
    with pytest.raises(DataError, match=r"huge.png: image is 100x90 = 0 megapixels, over"):
        load_pixels(tmp_path / "huge.png")
