"""Make real release artifacts from the compiled fixtures: tarfile, zipfile, dpkg-deb, rpmbuild.

Each helper takes {member name: bytes or Path} so tests say exactly what goes in.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

Content = bytes | Path


def data_of(content: Content) -> bytes:
    return content.read_bytes() if isinstance(content, Path) else content


def make_tar(path: Path, files: dict[str, Content], *, compression: str = "", symlinks: dict[str, str] | None = None) -> Path:
    """compression: '', 'gz', 'bz2', 'xz' (tarfile) or 'zst' (tar stream through zstandard)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in files.items():
            data = data_of(content)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    path.write_bytes(compress(raw.getvalue(), compression))
    return path


def add_hardlink(path: Path, name: str, target: str) -> Path:
    """Append a hard-link member to an uncompressed tar."""
    with tarfile.open(path, mode="a") as tar:
        info = tarfile.TarInfo(name)
        info.type = tarfile.LNKTYPE
        info.linkname = target
        tar.addfile(info)
    return path


def compress(data: bytes, compression: str) -> bytes:
    if compression == "":
        return data
    if compression == "gz":
        import gzip

        return gzip.compress(data)
    if compression == "bz2":
        import bz2

        return bz2.compress(data)
    if compression == "xz":
        import lzma

        return lzma.compress(data)
    if compression == "zst":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(compression)


def make_zip(path: Path, files: dict[str, Content], *, symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, data_of(content))
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16) | 0
            zf.writestr(info, target)
    return path


def make_wheel(directory: Path, filename: str, files: dict[str, Content], *, wheel_tags: list[str] | None) -> Path:
    """A wheel as cibuildwheel writes it; wheel_tags None leaves out the WHEEL file."""
    dist = filename.split("-")[0] + "-" + filename.split("-")[1]
    members = dict(files)
    if wheel_tags is not None:
        lines = ["Wheel-Version: 1.0", "Generator: bdist_wheel (0.43.0)", "Root-Is-Purelib: false"]
        lines += [f"Tag: {t}" for t in wheel_tags]
        members[f"{dist}.dist-info/WHEEL"] = ("\n".join(lines) + "\n").encode()
    members[f"{dist}.dist-info/METADATA"] = f"Metadata-Version: 2.1\nName: {dist.split('-')[0]}\n".encode()
    return make_zip(directory / filename, members)


def make_deb(
    directory: Path, name: str, files: dict[str, Content], *, compression: str = "xz", symlinks: dict[str, str] | None = None
) -> Path:
    """dpkg-deb --build of a tree holding `files` (paths relative to /)."""
    root = directory / f"{name}-root"
    shutil.rmtree(root, ignore_errors=True)
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.2\nArchitecture: amd64\nMaintainer: Test <test@example.org>\nDescription: test package\n"
    )
    for rel, content in files.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data_of(content))
        dest.chmod(0o755)
    for rel, target in (symlinks or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)
    out = directory / f"{name}_1.2_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(out)], check=True, capture_output=True)
    shutil.rmtree(root)
    return out


_SPEC = """Name: {name}
Version: 1.2
Release: 1
Summary: test package
License: MIT
BuildArch: x86_64
AutoReqProv: no
%global debug_package %{{nil}}
%global __os_install_post %{{nil}}
%description
test package
%install
{install}
%files
{files}
"""


def make_rpm(directory: Path, name: str, files: dict[str, Content], *, payload: str = "w19.zstdio") -> Path:
    """rpmbuild -bb of prebuilt files (paths relative to /); payload: _binary_payload, e.g. w9.gzdio."""
    top = directory / f"{name}-rpmbuild"
    shutil.rmtree(top, ignore_errors=True)
    (top / "SOURCES").mkdir(parents=True)
    install, listed = [], []
    for i, (rel, content) in enumerate(files.items()):
        (top / "SOURCES" / f"src{i}").write_bytes(data_of(content))
        install.append(f"mkdir -p %{{buildroot}}/{os.path.dirname(rel)} && cp %{{_sourcedir}}/src{i} %{{buildroot}}/{rel}")
        listed.append(f"/{rel}")
    spec = top / f"{name}.spec"
    spec.write_text(_SPEC.format(name=name, install="\n".join(install), files="\n".join(listed)))
    cmd = [
        "rpmbuild",
        "-bb",
        "--quiet",
        "--define",
        f"_topdir {top}",
        "--define",
        f"_binary_payload {payload}",
        "--define",
        "_build_id_links none",
        str(spec),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    built = next((top / "RPMS").rglob("*.rpm"))
    out = directory / f"{name}-{payload}.rpm"
    built.rename(out)
    shutil.rmtree(top)
    return out
