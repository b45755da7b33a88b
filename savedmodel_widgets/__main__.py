"""``python -m savedmodel_widgets``: see :mod:`savedmodel_widgets.cli`."""

from .cli import main

raise SystemExit(main())
