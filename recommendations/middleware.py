"""Counts product page views per visitor, after the page is answered: a path match and an append to the web
process's buffer (services.product_view_record), no database and, but for one pipelined call a second, no Redis.
Only a visitor with a session counts (the page cache hands session-less visitors a shared page before this runs)."""

import re

from django.conf import settings

from . import services

PRODUCT_PAGE = re.compile(r"/p/([^/]{1,255})/")


class ProductViewMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "GET" and response.status_code == 200:
            match = PRODUCT_PAGE.fullmatch(request.path_info)
            visitor = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            if match and visitor:
                services.product_view_record(visitor=visitor, slug=match.group(1))
        return response
