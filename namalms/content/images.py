"""Uploaded images: recognise the format by content, enforce limits, re-encode with Pillow.

The file name and the browser's content type are never trusted: the bytes are sniffed, opened
by Pillow restricted to that one format, checked against a pixel limit *before* decoding
(decompression bombs), then decoded and written anew. Re-encoding drops everything that is not
the picture itself – EXIF (camera, GPS position), XMP, comments, embedded thumbnails – and any
data appended after the image.

Pure: Pillow only, no Flask or database.
"""
from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000

# format → (file extension, mime type, label)
FORMATS = {
    "PNG": (".png", "image/png", "PNG"),
    "JPEG": (".jpg", "image/jpeg", "JPEG"),
    "WEBP": (".webp", "image/webp", "WebP"),
}
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


class ImageRejected(Exception):
    """The upload is not an acceptable image; ``message`` says why, in German."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded image, safe to store and serve."""

    data: bytes
    format: str
    extension: str
    mime_type: str
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    """Return "PNG", "JPEG" or "WEBP" from the file's first bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def clean_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> CleanImage:
    """Check and re-encode an uploaded image; raise :class:`ImageRejected` with the reason."""
    if not data:
        raise ImageRejected("Die Datei ist leer.")
    if len(data) > max_bytes:
        raise ImageRejected(f"Das Bild ist {_megabytes(len(data))} groß – erlaubt sind höchstens "
                            f"{_megabytes(max_bytes)}.")
    kind = sniff_format(data)
    if kind is None:
        raise ImageRejected("Die Datei ist kein PNG-, JPEG- oder WebP-Bild (geprüft wird der Inhalt, "
                            "nicht die Dateiendung).")
    label = FORMATS[kind][2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[kind])
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise ImageRejected(f"Das Bild hat {width} × {height} Pixel – erlaubt sind höchstens "
                                    f"{max_pixels / 1_000_000:g} Megapixel.")
            image.seek(0)  # animated files: the first frame only
            image.load()
            picture = _prepared(image, kind)
            picture.info = {}  # comments, ICC, XMP, EXIF: nothing but pixels is written back
            output = io.BytesIO()
            _save(picture, kind, output)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(f"Das Bild ist zu groß zum Entpacken – erlaubt sind höchstens "
                                f"{max_pixels / 1_000_000:g} Megapixel.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise ImageRejected(f"Die Datei sieht aus wie ein {label}-Bild, lässt sich aber nicht "
                                f"lesen (beschädigt oder unvollständig).") from None
    extension, mime, _ = FORMATS[kind]
    return CleanImage(output.getvalue(), kind, extension, mime, picture.width, picture.height)


def _prepared(image: Image.Image, kind: str) -> Image.Image:
    """Upright and in a mode the format can store; without any metadata attached."""
    if kind == "JPEG":
        image = ImageOps.exif_transpose(image)  # photos from phones: apply the rotation, then drop EXIF
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if kind == "PNG" and image.mode in ("1", "L", "RGB", "RGBA", "LA"):
        return image.copy()
    return image.convert("RGBA" if has_alpha else "RGB")


def _save(image: Image.Image, kind: str, output: io.BytesIO) -> None:
    if kind == "PNG":
        image.save(output, format="PNG", optimize=True)
    elif kind == "JPEG":
        image.save(output, format="JPEG", quality=88, optimize=True, progressive=True)
    else:
        image.save(output, format="WEBP", quality=88, method=4)


def safe_image_name(filename: str, extension: str) -> str:
    """A file name for ``img/``: lower-case ASCII, digits and hyphens, with ``extension``.

    ``safe_image_name("Straßen Foto (1).JPG", ".jpg")`` → ``strassen-foto-1.jpg``.
    """
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = unicodedata.normalize("NFKD", stem.translate(_UMLAUTS)).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:60].strip("-")
    return f"{stem or 'bild'}{extension}"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
