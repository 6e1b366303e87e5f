"""The Textual internals mjdash relies on are still there (fails first when Textual changes).

Two modules use Textual privates, on purpose and documented: mjdash/ui/table.py (TaskTable
copies DataTable's row renderer and reads its caches; the fast render is checked segment for
segment against DataTable's in test_table_scale.py) and mjdash/ui/terminal.py (the driver, to
write escape sequences; StylesCache.get_inner_outer, re-keyed so removed widgets are freed:
tests/app/test_widget_memory.py). pyproject pins textual to the minor these tests run on.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from textual.app import App
from textual.widgets import DataTable

from mjdash.ui.terminal import unpin_styles_caches, write_escape

DATATABLE_METHODS = {
    "_render_line_in_row": [
        "row_key",
        "line_no",
        "base_style",
        "cursor_location",
        "hover_location",
    ],
    "_render_line": None,
    "_render_cell": None,
    "_get_styles_to_render_cell": None,
    "_update_count": None,
    "_require_update_dimensions": None,
}
DATATABLE_STATE = (
    "_row_locations",
    "_column_locations",
    "_row_render_cache",
    "_cell_render_cache",
    "_row_renderable_cache",
    "_line_cache",
    "_labelled_row_exists",
    "_show_hover_cursor",
    "_data",
    "_y_offsets",
)


def test_textual_is_the_pinned_minor():
    major, minor = (int(part) for part in version("textual").split(".")[:2])
    assert (major, minor) == (8, 2), "re-check ui/table.py and ui/terminal.py, then the pin"


def test_datatable_internals_used_by_the_task_table_exist():
    for name, params in DATATABLE_METHODS.items():
        member = getattr(DataTable, name, None)
        if member is None:  # an attribute set in __init__, not a class member
            continue
        if params is not None:
            assert list(inspect.signature(member).parameters)[1:] == params, name
    names = set(inspect.getsource(DataTable.__init__).split())
    source = inspect.getsource(DataTable)
    for name in (*DATATABLE_STATE, *DATATABLE_METHODS):
        assert f"self.{name}" in source or name in names, f"DataTable.{name} is gone"


async def test_the_terminal_adapter_finds_the_driver():
    app = App()
    async with app.run_test():
        assert app._driver is not None  # the attribute ui/terminal.write_escape reads
        assert write_escape(app, "\x1b]9;mjdash\x07") is False  # headless: nothing written


def test_the_styles_cache_method_the_terminal_adapter_re_keys_is_there():
    # False would mean Textual changed StylesCache.get_inner_outer: see whether it still keeps
    # removed widgets alive (test_widget_memory.py), then mend or drop unpin_styles_caches.
    assert unpin_styles_caches() is True
