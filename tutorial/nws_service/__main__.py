"""``python -m tutorial.nws_service [--port N]``: serve the NWS stand-in."""

import sys

from tutorial.nws_service.server import main

sys.exit(main())
