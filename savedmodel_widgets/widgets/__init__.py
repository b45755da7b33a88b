"""The Jupyter widgets: export a live model, convert a model file, inspect a SavedModel.

Only this package and :mod:`savedmodel_widgets.magics` import ipywidgets.
"""

from .convert_widget import ConvertWidget
from .export_widget import ExportWidget, export_widget
from .inspect_widget import InspectWidget

__all__ = ["ConvertWidget", "ExportWidget", "InspectWidget", "export_widget"]
