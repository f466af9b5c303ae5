"""``python -m reqllm``: the same as the ``reqllm`` command."""

import sys

from .cli import main

sys.exit(main())
