"""Records, in the installed package, where the Swift build this source belongs to puts its
library, so that `pip install ./Sources/python` finds `.build/release/libckstore_c.so` without
settings. No compiled extension: the package loads the library with ctypes."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))


class _RecordLibraryLocation(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "ckstore", "_location.py")
        with open(target, "w") as f:
            f.write('"""Written at install time by setup.py."""\n')
            f.write(f"REPO_ROOT = {_REPO!r}\n")


setup(cmdclass={"build_py": _RecordLibraryLocation})
