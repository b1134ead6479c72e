"""Uploaded images: sniffed by content, limited, re-encoded without metadata."""
import io

import pytest
from PIL import Image

from namalms.content.images import ImageRejected, clean_image, safe_image_name, sniff_format


def encoded(fmt: str, size=(40, 30), mode="RGB", **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 120, 40) if mode == "RGB" else 0).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Kamerahersteller GmbH"  # Make
    exif[0x0110] = "Modell X"  # Model
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buffer, format="JPEG", exif=exif, comment=b"geheim")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt, expected, extension", [("PNG", "PNG", ".png"), ("JPEG", "JPEG", ".jpg"),
                                                      ("WEBP", "WEBP", ".webp")])
def test_each_allowed_format_is_recognised_and_reencoded(fmt, expected, extension):
    result = clean_image(encoded(fmt))
    assert (result.format, result.extension, result.width, result.height) == (expected, extension, 40, 30)
    assert sniff_format(result.data) == expected
    Image.open(io.BytesIO(result.data)).verify()


def test_metadata_is_removed():
    original = jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif().get(0x010F) == "Kamerahersteller GmbH"
    cleaned = Image.open(io.BytesIO(clean_image(original).data))
    assert not cleaned.getexif() and "comment" not in cleaned.info and "exif" not in cleaned.info


def test_data_appended_after_the_image_is_dropped():
    data = encoded("PNG") + b"<script>alert(1)</script>"
    assert b"script" not in clean_image(data).data


@pytest.mark.parametrize("data", [b"Hallo, ich bin eine Textdatei.\n", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                  b"GIF89a" + b"\x00" * 20])
def test_a_renamed_file_that_is_no_image_is_refused(data):
    with pytest.raises(ImageRejected, match="kein PNG-, JPEG- oder WebP-Bild"):
        clean_image(data)


def test_a_truncated_image_is_refused():
    with pytest.raises(ImageRejected, match="lässt sich aber nicht lesen"):
        clean_image(encoded("PNG", size=(400, 300))[:60])


def test_too_many_bytes_are_refused_before_decoding():
    with pytest.raises(ImageRejected, match="erlaubt sind höchstens 5,0 MB"):
        clean_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024))


def test_too_many_pixels_are_refused_before_decoding():
    bomb = encoded("PNG", size=(6000, 5000), mode="L", optimize=True)  # 30 megapixels, a few KB
    assert len(bomb) < 200_000
    with pytest.raises(ImageRejected, match="6000 × 5000 Pixel"):
        clean_image(bomb)


def test_an_empty_file_is_refused():
    with pytest.raises(ImageRejected, match="leer"):
        clean_image(b"")


def test_transparency_survives():
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(buffer, format="PNG")
    assert Image.open(io.BytesIO(clean_image(buffer.getvalue()).data)).mode == "RGBA"


@pytest.mark.parametrize("name, extension, expected", [
    ("Straßen Foto (1).JPG", ".jpg", "strassen-foto-1.jpg"),
    ("Übersicht_Ökologie.png", ".png", "uebersicht-oekologie.png"),
    ("../../etc/passwd.png", ".png", "passwd.png"),
    ("C:\\Users\\x\\bild.webp", ".webp", "bild.webp"),
    ("....png", ".png", "bild.png"),
    ("foto.png", ".jpg", "foto.jpg"),  # the extension follows the content
])
def test_safe_image_names(name, extension, expected):
    assert safe_image_name(name, extension) == expected
