"""Text for the speech recipe: a seeded English sentence generator and short fixed lists
in other languages (written for this project, no licence attached beyond the package's)."""
from __future__ import annotations

import numpy as np

_SUBJECTS = (
    "the old fisherman", "my neighbour", "a young teacher", "the night guard", "our grandmother",
    "the baker", "a tired student", "the small child", "the captain", "my sister", "the doctor",
    "a farmer from the valley", "the new manager", "his brother", "the pilot", "a quiet musician",
    "the librarian", "everyone in the village", "the tourist", "a lonely painter",
)
_VERBS = (
    "carried", "painted", "found", "lost", "repaired", "opened", "watched", "bought", "cleaned",
    "described", "forgot", "borrowed", "delivered", "photographed", "measured", "hid", "sold",
    "collected", "counted", "wrapped",
)
_OBJECTS = (
    "a heavy wooden box", "the broken clock", "seven red apples", "an old map of the harbour",
    "the letters from last winter", "a silver key", "the blue bicycle", "three loaves of bread",
    "a basket of fresh eggs", "the kitchen window", "a pair of leather boots", "the garden gate",
    "a jar of honey", "the torn umbrella", "a stack of newspapers", "the lantern",
)
_TAILS = (
    "before the sun went down", "near the railway station", "on a cold Tuesday morning",
    "while it was raining", "behind the church", "after a long day at work", "in the market square",
    "without saying a word", "at the edge of the forest", "just before midnight",
    "during the summer holidays", "down by the river", "in front of the whole class",
    "for the third time this week", "at the top of the hill",
)
_QUESTIONS = (
    "Did you hear what happened", "Can you believe it", "Who would have guessed",
    "Why does nobody ever ask", "Do you remember", "Have you ever wondered",
)

OTHER_LANGUAGES: dict[str, tuple[str, ...]] = {
    "French": (
        "Le boulanger ouvre sa boutique tous les matins à six heures.",
        "Nous avons marché le long de la rivière jusqu'au vieux pont.",
        "Ma sœur a trouvé une clé dans le jardin derrière la maison.",
        "Il pleut depuis trois jours et les enfants restent à l'intérieur.",
        "Le train pour Lyon part dans dix minutes du quai numéro quatre.",
        "Pouvez-vous me dire où se trouve la bibliothèque municipale?",
        "Le médecin a conseillé de boire beaucoup d'eau et de dormir.",
        "Les pêcheurs sont rentrés au port avant la tempête.",
        "J'ai oublié mon parapluie dans le bus ce matin.",
        "La musique du marché s'entendait jusqu'à la place de l'église.",
        "Mon grand-père racontait toujours des histoires de montagne.",
        "Le chat dort sur la fenêtre au soleil de l'après-midi.",
    ),
    "German": (
        "Der Bäcker öffnet seinen Laden jeden Morgen um sechs Uhr.",
        "Wir sind am Fluss entlang bis zur alten Brücke gelaufen.",
        "Meine Schwester hat im Garten hinter dem Haus einen Schlüssel gefunden.",
        "Es regnet seit drei Tagen und die Kinder bleiben drinnen.",
        "Der Zug nach Hamburg fährt in zehn Minuten von Gleis vier ab.",
        "Können Sie mir sagen, wo die Stadtbibliothek ist?",
        "Der Arzt hat geraten, viel Wasser zu trinken und zu schlafen.",
        "Die Fischer sind vor dem Sturm in den Hafen zurückgekehrt.",
        "Ich habe heute Morgen meinen Regenschirm im Bus vergessen.",
        "Die Musik vom Markt war bis zum Kirchplatz zu hören.",
        "Mein Großvater erzählte immer Geschichten aus den Bergen.",
        "Die Katze schläft am Nachmittag in der Sonne auf dem Fenster.",
    ),
    "Spanish": (
        "El panadero abre su tienda todas las mañanas a las seis.",
        "Caminamos a lo largo del río hasta el puente viejo.",
        "Mi hermana encontró una llave en el jardín detrás de la casa.",
        "Llueve desde hace tres días y los niños se quedan en casa.",
        "El tren para Sevilla sale en diez minutos del andén cuatro.",
        "¿Puede decirme dónde está la biblioteca municipal?",
        "El médico recomendó beber mucha agua y dormir bien.",
        "Los pescadores volvieron al puerto antes de la tormenta.",
        "Esta mañana olvidé mi paraguas en el autobús.",
        "La música del mercado se oía hasta la plaza de la iglesia.",
        "Mi abuelo siempre contaba historias de las montañas.",
        "El gato duerme en la ventana bajo el sol de la tarde.",
    ),
    "Italian": (
        "Il fornaio apre il suo negozio ogni mattina alle sei.",
        "Abbiamo camminato lungo il fiume fino al vecchio ponte.",
        "Mia sorella ha trovato una chiave nel giardino dietro casa.",
        "Piove da tre giorni e i bambini restano in casa.",
        "Il treno per Milano parte tra dieci minuti dal binario quattro.",
        "Mi può dire dove si trova la biblioteca comunale?",
        "Il medico ha consigliato di bere molta acqua e di dormire.",
        "I pescatori sono tornati in porto prima della tempesta.",
        "Stamattina ho dimenticato l'ombrello sull'autobus.",
        "La musica del mercato si sentiva fino alla piazza della chiesa.",
        "Mio nonno raccontava sempre storie di montagna.",
        "Il gatto dorme sulla finestra al sole del pomeriggio.",
    ),
}


def english_sentences(count: int, seed: int) -> list[str]:
    """``count`` distinct English sentences drawn from a small grammar, in seeded order."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[str] = []
    limit = len(_SUBJECTS) * len(_VERBS) * len(_OBJECTS) * len(_TAILS)
    if count > limit // 4:
        raise ValueError(f"at most {limit // 4} English sentences can be drawn, asked for {count}")
    while len(out) < count:
        subject, verb, obj, tail = (str(rng.choice(x)) for x in (_SUBJECTS, _VERBS, _OBJECTS, _TAILS))
        if rng.random() < 0.2:
            text = f"{rng.choice(_QUESTIONS)} that {subject} {verb} {obj} {tail}?"
        else:
            text = f"{subject[0].upper()}{subject[1:]} {verb} {obj} {tail}."
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out
