"""The bare project's one view: a fixed HTML page about the size of the store's product page (~6.5 kB), built
once at import, so each request costs only Django's request handling and CommonMiddleware."""

from django.http import HttpResponse

_ITEM = "<li><a href=\"/p/item/\">A product of the bare page</a> <span class=\"price\">€ 12.50</span></li>\n"
PAGE = (
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bare Django</title>"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\n<body><main>"
    "<h1>A bare Django view</h1>\n<ul>\n" + _ITEM * 66 + "</ul>\n</main></body></html>\n"
).encode()


def page(request):
    return HttpResponse(PAGE)
