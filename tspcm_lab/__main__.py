"""``python -m tspcm_lab``: the ``tspcm`` command line.

``main`` is imported from :mod:`tspcm_lab.cli` (not run as ``__main__``), so ``CliError`` raised by the
command modules is the very class ``main`` catches: errors print as one line, never as a traceback.
"""

import sys

from tspcm_lab.cli import main

if __name__ == "__main__":
    sys.exit(main())
