import sys

from assistant.cli.commands import main

sys.exit(main())
