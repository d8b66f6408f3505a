from django.urls import path

from jobs.schedules import views

app_name = "schedules"
urlpatterns = [
    path("<str:name>/", views.schedule_detail, name="detail"),
    path("<str:name>/edit/", views.schedule_edit, name="edit"),
    path("<str:name>/run/", views.schedule_run_now, name="run"),
    path("<str:name>/toggle/", views.schedule_toggle, name="toggle"),
    path("<str:name>/delete/", views.schedule_delete, name="delete"),
]
