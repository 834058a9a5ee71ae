"""What each page shows, read through the other domains' services and shaped for the screen.

One module per page. A domain not built yet gives None, and the page says "no data source yet"
instead of showing an empty chart that could be read as "no cases".
"""
