"""Generic ISOBMFF/HEIF readers understand written files (container.md §5): MediaInfo and ExifTool.

Each check is skipped, with the reason shown, only when its tool is not installed
(`.ci/run` installs both from Debian packages)."""
import json
import shutil
import subprocess

import pytest
from PIL import ImageCms

from jpegai_fmt.codestream import build_codestream
from jpegai_fmt.container import wrap
from jpegai_fmt.pih import default_fields

CS = build_codestream(default_fields(1920, 1080, diff_display_img_width=16, diff_display_img_height=8),
                      soz=b"z" * 9, sorp=[b"p" * 12], sors=[b"s" * 7])
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'


@pytest.fixture(params=["plain", "metadata"])
def jai_file(request, tmp_path):
    path = tmp_path / "sample.jai"
    extra = {} if request.param == "plain" else {"exif": b"MM\x00*\x00\x00\x00\x08\x00\x00", "xmp": XMP,
                                                 "icc": ICC}
    path.write_bytes(wrap(CS, **extra))
    return path


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package: "
                    f"{'mediainfo' if name == 'mediainfo' else 'libimage-exiftool-perl'})")
    return path


def test_mediainfo_reports_a_jai0_image(jai_file):
    out = subprocess.run([_tool("mediainfo"), "--Output=JSON", str(jai_file)], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    tracks = {t["@type"]: t for t in json.loads(out)["media"]["track"]}
    assert tracks["General"]["Format"] == "jaii"
    assert tracks["General"]["CodecID_Compatible"] == "jaii/mif1"
    image = tracks["Image"]
    assert image["Format"] == "jai0"
    assert (image["Width"], image["Height"]) == ("1904", "1072")
    assert image["StreamSize"] == str(len(CS))


def test_exiftool_reports_brand_item_and_extent_without_warning(jai_file):
    out = subprocess.run([_tool("exiftool"), "-json", str(jai_file)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    tags = json.loads(out)[0]
    assert "jaii" in tags["MajorBrand"]
    assert tags["CompatibleBrands"] == ["jaii", "mif1"]
    assert tags["HandlerType"] == "Picture"
    assert tags["PrimaryItemReference"] == 1
    assert tags["ImageSpatialExtent"] == "1904x1072"
    assert "Warning" not in tags and "Error" not in tags
