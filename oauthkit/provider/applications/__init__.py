"""Pages where signed-in people manage applications (docs/applications.md).

- ``authorized``: the clients that hold a consent or tokens for the user, and revoking them.
- ``developer``: clients a user registers and manages themselves (``DEVELOPER_APPLICATIONS``).

``authorizations`` holds what these pages do to the records (listing, revoking); the views only
parse requests and render pages.
"""
