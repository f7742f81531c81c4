"""The application layer: the window's state and everything derived from it, without Qt.

``Session`` (session.py) is an evented model in the manner of napari's ``components``: it holds
the open dataset (root, scan phase, result, findings, normalization source and its numbers,
selection) and emits an event whenever one of them changes. Widgets subscribe to those events
and render; user actions go back through the session's methods. Nothing here imports Qt, so the
state and its rules are tested without a window (tests/test_app_session.py).
"""
