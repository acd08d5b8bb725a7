"""A step-through as slides and a handout: an animated GIF and a PDF, one frame or page per step.

A reader of the step-through's frames (``autograd.viz.animation``): each step's picture, with its
highlights and the numbers known at that step, is put on a canvas above the step's caption (every
line of it, wrapped, never cut), and rasterized with ``resvg`` (``autograd.viz.render``), so the
captions use the same fonts as the drawing. Pillow then writes the frames as a GIF or the pages as a
PDF; it is an optional dependency: ``pip install "chainrule[export]"`` (or ``pip install pillow``).

A picture too large to read at the size of a slide or a page (a network's graph) is not shrunk to
nothing: each frame shows the part of the drawing around the step's node at a readable size, and
moves with the steps; a small graph is shown whole.

The PDF is written here (a few objects: each page one palette image, Flate-compressed); Pillow's own
PDF writer would store text as JPEG or as hexadecimal. Both files are made in memory, then written
with ``autograd._files.atomic_write`` (a temporary file in the target's folder, flushed and synced,
then moved over the target), so that a failed export leaves an existing file as it was.
"""

from __future__ import annotations

import io
import re
import textwrap
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import render as _render
from .._files import atomic_write

if TYPE_CHECKING:  # only for the type hints: animation imports this module when it saves
    from .animation import Animation

__all__ = ["save_gif", "save_pdf", "INSTALL_PILLOW"]

INSTALL_PILLOW = 'pip install "chainrule[export]" (or: pip install pillow)'
_SVG_NS = "http://www.w3.org/2000/svg"
_SVG = "{" + _SVG_NS + "}"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
CAPTION_FONT = "DejaVu Sans Mono, Liberation Mono, Menlo, Consolas, monospace"


@dataclass(frozen=True)
class Layout:
    """The size of a frame or page and how its picture is scaled.

    Attributes:
        width: the canvas's width in pixels (the picture's and the caption's).
        picture_height: the height of the area the drawing is shown in, in pixels.
        readable: pixels per point of the drawing at which its 11-point labels are easy to read; a
            drawing that would be smaller when fitted whole is shown in part, around the step's node.
        largest: the most pixels per point a small drawing is enlarged to.
        font: the caption's font size in pixels.
        margin: the white border around everything, in pixels.
    """

    width: int
    picture_height: int
    readable: float
    largest: float
    font: float
    margin: int


GIF_LAYOUT = Layout(width=1280, picture_height=640, readable=1.1, largest=2.0, font=15, margin=16)
"""A slide: 1280 pixels wide, the drawing at 1.1 pixels a point or larger (a browser shows 4/3)."""
PDF_DPI = 150
PDF_LAYOUT = Layout(width=1754, picture_height=820, readable=1.45, largest=2.6, font=21, margin=70)
"""A landscape A4 page at 150 dpi (1754 x 1240 pixels): 11-point labels print at 7.7 points or more,
the caption at 10 points."""


def require_pillow() -> Any:
    """PIL.Image, or an ImportError that says how to install Pillow (GIF and PDF need it)."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(f"saving an animation as .gif or .pdf needs Pillow ({exc}); {INSTALL_PILLOW}") from None
    return Image


def save_gif(animation: "Animation", path: Path, *, seconds_per_step: float = 1.0) -> Path:
    """Write ``animation`` as an animated GIF: one frame per step, each with its caption, looping.

    ``seconds_per_step`` is how long each frame is shown (the last one twice as long). Raises
    ImportError when Pillow is missing (before any work), RenderError when a frame cannot be drawn.
    """
    image = require_pillow()
    if not (isinstance(seconds_per_step, (int, float)) and 0.02 <= seconds_per_step <= 60):
        raise ValueError(f"seconds_per_step must be a number from 0.02 to 60, got {seconds_per_step!r}")
    frames = [_quantized(image, png) for png in _pngs(animation, GIF_LAYOUT)]
    ms = int(round(seconds_per_step * 1000))
    durations = [ms] * (len(frames) - 1) + [2 * ms]

    def write(out: io.BufferedWriter) -> None:
        frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
                       loop=0, disposal=1)  # fmt: skip

    return _write_atomically(path, write)


def save_pdf(animation: "Animation", path: Path) -> Path:
    """Write ``animation`` as a PDF handout: one landscape A4 page per step, the picture above the
    step's whole caption, at 150 dpi. Raises ImportError when Pillow is missing (before any work)."""
    image = require_pillow()
    pages = [_quantized(image, png) for png in _pngs(animation, PDF_LAYOUT, page_height=1240)]
    title = f"backprop through {animation.root.label or 'a graph'}: {len(animation)} steps"
    return _write_atomically(path, lambda out: out.write(_pdf(pages, title)))


def _pdf(pages: list[Any], title: str) -> bytes:
    """A PDF with one page per palette image, each image compressed losslessly (Flate).

    Written here rather than with Pillow's PDF writer, which stores a palette image as hexadecimal
    text (6 MB a page) and a colour image as JPEG (blurred text); here a page is about 90 kB.
    """
    objects: list[bytes] = [b"", b""]  # 1: the catalog, 2: the page tree, filled in at the end
    kids = []
    for page in pages:
        width, height = page.size
        palette = (page.getpalette() or [])[: 3 * 256]
        palette += [0] * (3 * 256 - len(palette))
        pixels = zlib.compress(page.tobytes(), 6)
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 "
            b"/ColorSpace [/Indexed /DeviceRGB 255 <%s>] /Filter /FlateDecode /Length %d >>\nstream\n"
            % (width, height, bytes(palette).hex().encode(), len(pixels)) + pixels + b"\nendstream"
        )
        image_ref = len(objects)
        w_pt, h_pt = width * 72 / PDF_DPI, height * 72 / PDF_DPI
        content = b"q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q" % (w_pt, h_pt)
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents %d 0 R "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> >>" % (w_pt, h_pt, len(objects), image_ref)
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    safe = title.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    objects.append(b"<< /Title (%s) /Producer (chainrule) >>" % safe)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, len(objects), xref)
    return bytes(out)


def _quantized(image: Any, png: bytes) -> Any:
    """A PNG as a 256-colour image (no dithering, so text stays crisp): what a GIF holds, and a third
    of the bytes of colour in a PDF."""
    picture = image.open(io.BytesIO(png)).convert("RGB")
    return picture.quantize(colors=256, method=image.Quantize.FASTOCTREE, dither=image.Dither.NONE)


# -- the frames ----------------------------------------------------------------------------------------
def _pngs(animation: "Animation", layout: Layout, page_height: int | None = None) -> list[bytes]:
    """Every step's frame as PNG bytes, all of one size."""
    box = _view_box(ET.fromstring(animation.svg(0)))
    fit = min((layout.width - 2 * layout.margin) / box[2], layout.picture_height / box[3], layout.largest)
    if fit >= layout.readable:  # shown whole: no taller than it needs
        layout = replace(layout, picture_height=min(layout.picture_height, int(box[3] * fit) + 8))
    captions = [_caption_lines(animation, k, layout) for k in range(len(animation))]
    if page_height is not None:  # a page keeps its size: a long caption takes room from the picture,
        room = page_height - 2 * layout.margin  # then, below a third of the page, gets a smaller font
        while True:
            caption_height = max(len(lines) for lines in captions) * round(layout.font * 1.45) + layout.font
            if caption_height + layout.picture_height <= room:
                break
            if room - caption_height >= room // 3:
                layout = replace(layout, picture_height=room - caption_height)
                break
            if layout.font <= 9:
                break
            layout = replace(layout, font=layout.font - 1)
            captions = [_caption_lines(animation, k, layout) for k in range(len(animation))]
    line_height = round(layout.font * 1.45)
    caption_height = max(len(lines) for lines in captions) * line_height + layout.font
    height = layout.margin * 2 + layout.picture_height + caption_height
    if page_height is not None and height < page_height:
        height = page_height
    return [_render.svg_to_png(_frame(animation, k, captions[k], layout, height), scale=1.0, max_pixels=10**8)
            for k in range(len(animation))]  # fmt: skip


def _caption_lines(animation: "Animation", k: int, layout: Layout) -> list[tuple[str, bool]]:
    """The caption of step ``k`` as (line, is the heading) pairs, wrapped to the canvas's width."""
    step = animation.steps[k]
    columns = max(20, int((layout.width - 2 * layout.margin) / (layout.font * 0.61)))
    lines: list[tuple[str, bool]] = []
    for i, text in enumerate(step.text.splitlines()):
        if i == 0:
            text = f"Step {k} of {len(animation) - 1} · {text}"
        wrapped = textwrap.wrap(text, columns, subsequent_indent="    ", break_long_words=True, break_on_hyphens=False)
        lines.extend((line, i == 0) for line in wrapped or [""])
    return lines


def _frame(animation: "Animation", k: int, caption: list[tuple[str, bool]], layout: Layout, height: int) -> str:
    """Step ``k`` as one SVG: its picture (whole, or the part around its node) above its caption."""
    picture = ET.fromstring(animation.svg(k))
    box = _view_box(picture)
    area_w, area_h = layout.width - 2 * layout.margin, layout.picture_height
    scale = min(area_w / box[2], area_h / box[3], layout.largest)
    if scale < layout.readable:  # too small to read whole: show the part around the step's node
        scale = layout.readable
        w, h = min(area_w / scale, box[2]), min(area_h / scale, box[3])
        cx, cy = _focus(animation, k, picture, box)
        x = min(max(cx - w / 2, box[0]), box[0] + box[2] - w)
        y = min(max(cy - h / 2, box[1]), box[1] + box[3] - h)
        box = (x, y, w, h)
    shown_w, shown_h = box[2] * scale, box[3] * scale
    picture.set("x", f"{layout.margin + (area_w - shown_w) / 2:.1f}")
    picture.set("y", f"{layout.margin + (area_h - shown_h) / 2:.1f}")
    picture.set("width", f"{shown_w:.1f}")
    picture.set("height", f"{shown_h:.1f}")
    picture.set("viewBox", " ".join(f"{v:.2f}" for v in box))
    canvas = ET.Element(f"{_SVG}svg", {"width": str(layout.width), "height": str(height),
                                       "viewBox": f"0 0 {layout.width} {height}"})  # fmt: skip
    ET.SubElement(canvas, f"{_SVG}rect", {"width": "100%", "height": "100%", "fill": "white"})
    canvas.append(picture)
    top = layout.margin + layout.picture_height
    ET.SubElement(canvas, f"{_SVG}line", {"x1": str(layout.margin), "x2": str(layout.width - layout.margin),
                                          "y1": str(top), "y2": str(top), "stroke": "#e8590c", "stroke-width": "2"})  # fmt: skip
    line_height = round(layout.font * 1.45)
    for i, (text, heading) in enumerate(caption):
        element = ET.SubElement(canvas, f"{_SVG}text", {
            "x": str(layout.margin), "y": f"{top + layout.font * 1.2 + i * line_height:.1f}",
            "font-family": CAPTION_FONT, "font-size": f"{layout.font * (0.9 if heading else 1):g}",
            "fill": "#555555" if heading else ("#c00000" if text.startswith("!") else "#222222"),
            "xml:space": "preserve",
        })  # fmt: skip
        element.text = text
    return ET.tostring(canvas, encoding="unicode")


def _view_box(svg: ET.Element) -> tuple[float, float, float, float]:
    numbers = [float(n) for n in _NUMBER.findall(svg.get("viewBox", ""))]
    if len(numbers) == 4 and numbers[2] > 0 and numbers[3] > 0:
        return numbers[0], numbers[1], numbers[2], numbers[3]
    width = float(_NUMBER.match(svg.get("width", "100")).group())  # type: ignore[union-attr]
    height = float(_NUMBER.match(svg.get("height", "100")).group())  # type: ignore[union-attr]
    return 0.0, 0.0, width, height


def _focus(animation: "Animation", k: int, svg: ET.Element, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """The centre, in the SVG's viewBox, of step ``k``'s highlighted shape (or of the picture)."""
    names = animation._frames[k]["c"]  # the shapes the step highlights
    graph = svg.find(f"{_SVG}g")
    shift = (0.0, 0.0)
    if graph is not None:
        match = re.search(r"translate\(\s*(" + _NUMBER.pattern + r")[ ,]+(" + _NUMBER.pattern + r")", graph.get("transform", ""))
        if match:
            shift = (float(match.group(1)), float(match.group(2)))
    xs: list[float] = []
    ys: list[float] = []
    for group in svg.iter(f"{_SVG}g"):
        if names and group.get("data-name") == names[0]:
            for shape in group:
                if shape.tag in (f"{_SVG}polygon", f"{_SVG}polyline", f"{_SVG}path"):
                    numbers = [float(n) for n in _NUMBER.findall(shape.get("points") or shape.get("d") or "")]
                    xs += numbers[0::2]
                    ys += numbers[1::2]
                elif shape.tag == f"{_SVG}ellipse":
                    xs.append(float(shape.get("cx", 0)))
                    ys.append(float(shape.get("cy", 0)))
            break
    if not xs:  # the start: no node yet; show the leaves' end of the picture
        return box[0] + box[2] * 0.25, box[1] + box[3] / 2
    return (min(xs) + max(xs)) / 2 + shift[0], (min(ys) + max(ys)) / 2 + shift[1]


# -- writing -------------------------------------------------------------------------------------------
def _write_atomically(path: Path, write: Callable[[io.BufferedWriter], None]) -> Path:
    """``write`` into memory, then to ``path`` with ``autograd._files.atomic_write`` (the one way
    chainrule writes a file: a temporary file in the folder, flushed and synced, moved over ``path``;
    on any error ``path`` is untouched and nothing is left behind; a device is written in place)."""
    buffer = io.BytesIO()
    write(buffer)  # type: ignore[arg-type]
    return atomic_write(path, buffer.getvalue())

