"""From a request's options to the imaging OutputOptions `bgremove run` uses, and reading uploads:
multipart forms in memory, types and formats we refuse."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from serving import encode, multipart, product_photo

pytest.importorskip("fastapi")

from bgremove.imaging.outputs import OutputOptions  # noqa: E402
from bgremove.server import imagework  # noqa: E402
from bgremove.server.params import PASSTHROUGH, RemoveParams, merged, rendering  # noqa: E402
from bgremove.server.problems import Problem  # noqa: E402
from bgremove.server.upload import parse_form  # noqa: E402


@pytest.mark.parametrize("params, kind, output, media", [
    ({}, "cutout", OutputOptions(), "image/png"),
    ({"format": "webp"}, "cutout", OutputOptions(cutout_format="webp"), "image/webp"),
    ({"output": "mask", "crop": True, "margin": "5%"}, "mask",
     OutputOptions(cutout=False, mask=True, crop=True, margin="5%"), "image/png"),
    ({"bg_color": "white", "margin": "12", "crop": True}, "composite",
     OutputOptions(cutout=False, bg_color="white", crop=True, margin=12), "image/jpeg"),
    ({"bg_color": "white", "output": "cutout", "threshold": 0.5}, "cutout",
     OutputOptions(threshold=0.5), "image/png"),
    ({"output": "composite", "bg_color": "1,2,3", "format": "png", "png_compression": 6,
      "jpeg_quality": 80, "decontaminate": False}, "composite",
     OutputOptions(cutout=False, bg_color="1,2,3", composite_format="png", png_compression=6,
                   jpeg_quality=80, decontaminate=False), "image/png"),
])
def test_request_options_become_run_output_options(params, kind, output, media):
    r = rendering(RemoveParams(**params))
    assert (r.kind, r.output, r.media_type) == (kind, output, media)


def test_every_passthrough_option_is_an_output_option_and_a_request_option():
    for name in PASSTHROUGH:
        assert name in OutputOptions.__dataclass_fields__ and name in RemoveParams.model_fields


@pytest.mark.parametrize("params", [
    {"output": "mask", "format": "webp"}, {"output": "composite"}, {"format": "jpg"},
    {"margin": "-3", "crop": True}, {"bg_color": "nope"},
])
def test_contradictions_are_bad_options(params):
    with pytest.raises(Problem) as e:
        rendering(RemoveParams(**params))
    assert e.value.status == 400 and e.value.code == "bad_option"


def test_form_fields_merge_with_the_query_once():
    merged_params = merged(RemoveParams(crop=True), {"output": "mask", "margin": "3"})
    assert (merged_params.crop, merged_params.output, merged_params.margin) == (True, "mask", "3")
    with pytest.raises(Problem, match="both"):
        merged(RemoveParams(crop=True), {"crop": "false"})
    with pytest.raises(Problem, match="unknown option 'weights'"):
        merged(RemoveParams(), {"weights": "/etc/passwd"})


def test_forms_parse_in_memory():
    jpeg = encode(product_photo(40, 50), "JPEG")
    body, ctype = multipart(jpeg, {"output": "mask"}, "a.jpg", "image/jpeg")
    upload = parse_form(body, ctype.split("boundary=")[1].encode())
    assert upload.data == jpeg and upload.fields == {"output": "mask"}
    body, ctype = multipart(jpeg, {}, "a.jpg", "image/jpeg", field="file")
    assert parse_form(body, ctype.split("boundary=")[1].encode()).data == jpeg


@pytest.mark.parametrize("body, code", [
    (b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n", "undecodable_image"),
    (b"--b\r\nContent-Disposition: form-data; name=\"other\"; filename=\"a\"\r\n\r\n1\r\n--b--\r\n",
     "bad_request"),
    (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a\"\r\n"
     b"Content-Type: image/gif\r\n\r\nGIF89a\r\n--b--\r\n", "unsupported_type"),
    (b"no boundary anywhere", "bad_request"),
])
def test_bad_forms_are_refused(body, code):
    with pytest.raises(Problem) as e:
        parse_form(body, b"b")
    assert e.value.code == code


@pytest.mark.parametrize("head, name", [
    (b"GIF89a\x01\x00", "GIF"), (b"%PDF-1.7", "PDF"), (b"\x00\x00\x00\x1cftypheic", "HEIC"),
    (b"\x00\x00\x00\x1cftypavif", "AVIF"), (b"  <svg xmlns=", "SVG"), (b"\xff\xd8\xff\xe0", None),
    (b"random", None),
])
def test_foreign_formats_are_named(head, name):
    assert imagework.foreign_format(head + b"\0" * 40) == name


def test_decoding_refuses_formats_run_does_not_take():
    # PIL reads GIF and PPM; the server does not (not run's file types, fewer decoders exposed).
    buf = io.BytesIO()
    Image.fromarray(product_photo(20, 20)).save(buf, format="GIF")
    with pytest.raises(Problem) as e:
        imagework.decode(buf.getvalue(), 1_000_000)
    assert e.value.status == 415
    buf = io.BytesIO()
    Image.fromarray(product_photo(20, 20)).save(buf, format="PPM")  # no magic in our table
    with pytest.raises(Problem) as e:
        imagework.decode(buf.getvalue(), 1_000_000)
    assert e.value.status == 400
