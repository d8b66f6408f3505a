"""django-q2's Redis broker with the site's Q_PREFIX in every queue key, so that several sites (or test runs)
can share one Redis without taking each other's tasks."""

from django.conf import settings
from django_q.brokers import Broker
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf


class PrefixedRedis(Redis):
    def __init__(self, list_key: str = None):
        list_key = list_key or Conf.CLUSTER_NAME
        Broker.__init__(self, list_key=f"django_q:{settings.Q_PREFIX}:{list_key}:q")
