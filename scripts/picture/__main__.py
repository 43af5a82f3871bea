"""`make picture`: draws docs/<stack>.svg for each pictured stack from the program under mocks.

A unit test (tests/unit/test_picture.py) compares the committed pictures with fresh ones.
"""
from __future__ import annotations

import sys

from scripts.picture import PICTURED_STACKS, picture, picture_path


def main() -> int:
    for stack in PICTURED_STACKS:
        path = picture_path(stack)
        path.write_text(picture(stack))
        print(f"wrote {path.relative_to(path.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
