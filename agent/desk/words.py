"""The desk's words in French (Quebec) and English."""

from __future__ import annotations

TEXT = {
    "desk": ("Rappels", "Callbacks"),
    "login_title": ("Connexion", "Sign in"),
    "name": ("Nom d'utilisateur", "User name"),
    "password": ("Mot de passe", "Password"),
    "sign_in": ("Se connecter", "Sign in"),
    "sign_out": ("Se déconnecter", "Sign out"),
    "wrong": ("Nom ou mot de passe incorrect.", "Wrong user name or password."),
    "locked": (
        "Trop d'essais : réessayez dans quelques minutes.",
        "Too many attempts: try again in a few minutes.",
    ),
    "csrf": (
        "Le formulaire a expiré : rechargez la page et recommencez.",
        "The form expired: reload the page and try again.",
    ),
    "board": ("À rappeler", "To call back"),
    "empty": ("Aucun appel manqué en attente. Bravo!", "No missed call waiting. Well done!"),
    "caller": ("Client", "Caller"),
    "department": ("Service", "Department"),
    "misses": ("appels manqués", "missed calls"),
    "miss": ("appel manqué", "missed call"),
    "last": ("Dernier appel", "Last call"),
    "what": ("Ce qui est arrivé", "What happened"),
    "text": ("Texto envoyé", "Text sent"),
    "replies": ("Réponses", "Replies"),
    "withheld": ("Numéro masqué : rappel impossible", "Number withheld: no callback"),
    "live": ("Mise à jour automatique", "Updates by itself"),
    "signed_in_as": ("Connecté : {name}", "Signed in: {name}"),
    "minutes_ago": ("il y a {n} min", "{n} min ago"),
    "hours_ago": ("il y a {n} h", "{n} h ago"),
}


def word(name: str, language: str, /, **fields: object) -> str:
    fr, en = TEXT[name]
    text = fr if language == "fr" else en
    return text.format(**fields) if fields else text
