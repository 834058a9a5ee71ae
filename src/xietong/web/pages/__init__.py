"""The dashboard's pages, one module per screen; `xietong.web.router` assembles them."""
