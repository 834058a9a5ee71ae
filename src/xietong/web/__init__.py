"""The command centre on screen: server-rendered pages over the same services as the API."""
