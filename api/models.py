"""Personal access tokens for the REST API: shown once, stored only as a SHA-256 digest."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "bst_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    # A high-entropy random secret needs no salt or slow hash: sha256 is enough and keeps lookups indexed.
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.user}: {self.name}"

    @classmethod
    def issue(cls, user, name: str) -> tuple["AccessToken", str]:
        """A new token and its secret; the secret exists only in this return value."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name, digest=digest(secret)), secret

    @classmethod
    def authenticate(cls, secret: str):
        """The live token for `secret` (its user active), or None."""
        if not secret:
            return None
        token = cls.objects.select_related("user").filter(digest=digest(secret), revoked__isnull=True).first()
        if token is None or not token.user.is_active:
            return None
        now = timezone.now()
        # One write a minute at most: polling clients must not turn every read into a write.
        if token.last_used is None or (now - token.last_used).total_seconds() > 60:
            cls.objects.filter(pk=token.pk).update(last_used=now)
        return token

    @property
    def is_active(self):
        return self.revoked is None

    def revoke(self):
        if self.revoked is None:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])
