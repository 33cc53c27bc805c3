import sys

from gopolicy.cli import main

sys.exit(main())
