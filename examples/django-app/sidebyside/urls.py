from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("login", views.login),
    path("cart", views.cart),
    path("logout", views.logout),
    path("api/session", views.api_session),
    path("hello", views.hello),
]
