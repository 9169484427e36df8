"""The backend client: HTTP against the server's API and the worker thread. Never imports bpy."""
