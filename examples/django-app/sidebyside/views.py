"""The same pages as the wasm web app, on the same session keys.

`username` (text), `cart` (a list of text), `visits` (a number): the wasm app reads and
writes exactly these, so a person can log in on one app and shop on the other.
"""

import django
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

USERNAME, CART, VISITS = "username", "cart", "visits"


def _page(request, template, title, **context):
    context.update(
        title=title,
        user=request.session.get(USERNAME),
        peer_url=settings.PEER_URL,
        django_version=django.get_version(),
    )
    return render(request, template, context)


def _cart_items(session):
    items = session.get(CART)
    return [str(item) for item in items] if isinstance(items, list) else []


def _clean(text, what, limit):
    text = (text or "").strip()
    if not text or len(text) > limit or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError(f"{what} must be 1 to {limit} characters, without control characters.")
    return text


@require_GET
def home(request):
    visits = request.session.get(VISITS)
    request.session[VISITS] = (visits if isinstance(visits, int) else 0) + 1
    count = len(_cart_items(request.session))
    return _page(request, "home.html", "Home", visits=request.session[VISITS], cart_count=count)


@require_http_methods(["GET", "POST"])
def login(request):
    if request.method == "GET":
        return _page(request, "login.html", "Log in")
    try:
        name = _clean(request.POST.get("username"), "The user name", 150)
    except ValueError as e:
        return HttpResponseBadRequest(str(e))
    # As django.contrib.auth.login(): a flushed session for another user, a new key for a
    # new login.
    current = request.session.get(USERNAME)
    if current is None:
        request.session.cycle_key()
    elif current != name:
        request.session.flush()
    request.session[USERNAME] = name
    return redirect("/")


@require_http_methods(["GET", "POST"])
def cart(request):
    if request.method == "GET":
        return _page(request, "cart.html", "Cart", items=_cart_items(request.session))
    if request.session.get(USERNAME) is None:
        return redirect("/login")
    items = _cart_items(request.session)
    action = request.POST.get("action")
    try:
        if action == "add":
            items.append(_clean(request.POST.get("item"), "An item", 100))
        elif action == "remove":
            del items[int(request.POST.get("index", ""))]
        else:
            raise ValueError("The action must be add or remove.")
    except (ValueError, IndexError) as e:
        return HttpResponseBadRequest(str(e))
    request.session[CART] = items
    return redirect("/cart")


@require_http_methods(["GET", "POST"])
def logout(request):
    if request.method == "GET":
        return _page(request, "logout.html", "Log out")
    request.session.flush()
    return redirect("/")


@require_GET
def api_session(request):
    return JsonResponse(dict(request.session.items()))


@require_GET
def hello(request):
    return HttpResponse("hello\n", content_type="text/plain")
