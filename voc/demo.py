"""Deterministic demo data: a 4-level taxonomy and synthetic feedback for a home security camera.

The pipeline must run end to end without private data, so this module fabricates a realistic-looking
dataset: short label names (the whole taxonomy goes into every prompt), a Zipf-like long tail of leaf
frequencies, per-segment sentiment, and about 15 % of comments in German, French, Spanish or Japanese.
Everything comes from one seeded `random.Random`, so a seed always yields the same bytes.

Most of this file is data: one entry per leaf (path, description, subject, positive / negative / neutral
predicates) and a few whole-sentence translations. Sentences are built as frame(subject, predicate), and
the frames carry the same sentiment as the predicate, so the wording always matches the label.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import click

from voc.io import write_jsonl
from voc.taxonomy import Taxonomy, write_taxonomy

LEVELS = ("L1", "L2", "L3", "L4")
ZIPF_EXPONENT = 1.1
NON_ENGLISH_SHARE = 0.15
SEGMENT_COUNTS = {1: 0.35, 2: 0.35, 3: 0.2, 4: 0.1}
EMOTIONS = {"negative": 0.45, "positive": 0.35, "neutral": 0.2}
MAX_ATTEMPTS = 200

# (path, description, subject, positive|predicates, negative|predicates, neutral predicate)
_LEAVES: list[tuple[str, str, str, str, str, str]] = [
    ("Setup/Mounting/Hardware/Screws", "Screws and wall anchors supplied for mounting", "the mounting screws",
     "were sturdy and bit into brick easily|held the camera firmly in place",
     "stripped on the very first turn|were missing from the box entirely", "are a standard Phillips size"),
    ("Setup/Mounting/Hardware/Bracket", "The wall or ceiling bracket and its adjustment", "the wall bracket",
     "feels solid and adjusts smoothly|locked into position without any wobble",
     "snapped after two weeks outside|keeps drooping so the camera points down", "comes in white plastic only"),
    ("Setup/Pairing/Process/QR Code", "Adding the camera by scanning a QR code", "the QR code pairing",
     "worked on the very first scan|finished in under two minutes",
     "failed over and over on my phone|never recognised the code in daylight",
     "needs the phone held about a foot away"),
    ("Setup/Pairing/Process/Bluetooth", "Finding the camera over Bluetooth during setup", "the Bluetooth pairing",
     "found the camera almost instantly|was smooth and quick on Android",
     "timed out every single time|could not find the camera at all", "asks for location permission first"),
    ("Setup/Pairing/Account/Signup", "Creating the user account before first use", "the account signup",
     "was quick and asked for very little|took less than a minute",
     "demanded far too much personal data|kept rejecting my email address",
     "requires an email and a phone number"),
    ("Setup/Guide/Manual/Clarity", "How clear the printed quick-start guide is", "the printed manual",
     "explains every step with clear pictures|was short and easy to follow",
     "is vague and skips key steps|has diagrams that are too tiny to read", "is a small folded leaflet"),
    ("App/Access/Login/Password", "Signing in to the app and staying signed in", "the app login",
     "remembers me and opens in a second|works smoothly with my password manager",
     "logs me out every single day|rejects my correct password at random",
     "asks for the password after each update"),
    ("App/Access/Login/Two-Factor", "Verification codes and two-factor sign-in", "the two-factor code",
     "arrives instantly and feels secure|gives me real peace of mind",
     "arrives far too late to use|never reaches my phone at all", "is sent by text message"),
    ("App/Access/Sharing/Family", "Sharing cameras with other household members", "the family sharing feature",
     "lets my whole family watch easily|was simple to set up for my partner",
     "keeps kicking out shared users|gives guests far too much control", "allows up to five users"),
    ("App/Interface/Layout/Navigation", "Menus and finding settings in the app", "the app menu",
     "is clean and easy to find things in|makes every setting easy to reach",
     "buries basic settings three levels deep|is cluttered and confusing",
     "changed its layout in the last update"),
    ("App/Interface/Live View/Loading", "How fast the live stream opens in the app", "the live view",
     "opens almost instantly|loads fast even on mobile data",
     "spins for ages before showing anything|takes thirty seconds to start",
     "starts after a short buffering icon"),
    ("App/Stability/Crashes/Launch", "The app crashing or freezing", "the app",
     "has not crashed once in months|runs rock solid on my old phone",
     "crashes every time I open it|freezes and closes itself on startup", "restarts itself after each update"),
    ("App/Stability/Updates/Firmware", "Camera firmware updates pushed through the app", "the firmware update",
     "installed quietly overnight|fixed the bugs I had reported",
     "bricked my camera for a whole day|failed halfway and had to be redone",
     "took about ten minutes to install"),
    ("Video/Quality/Resolution/Daytime", "Sharpness and detail of daytime video", "the daytime picture",
     "is crisp and full of detail|shows faces clearly across the yard",
     "looks blurry even in bright sun|is washed out and soft", "is recorded in 2K by default"),
    ("Video/Quality/Resolution/Zoom", "Digital zoom on live and recorded video", "the digital zoom",
     "still lets me read number plates|keeps details sharp up close",
     "turns everything into blocky pixels|is useless beyond two times", "goes up to eight times"),
    ("Video/Quality/Color/Accuracy", "Colour accuracy and white balance", "the colour reproduction",
     "looks natural and true to life|is vivid without looking fake",
     "makes everything look green|is badly oversaturated", "can be tuned in the settings"),
    ("Video/Night/Infrared/Range", "How far infrared night vision reaches", "the night vision range",
     "reaches the far end of my garden|covers the whole driveway in darkness",
     "barely reaches past the porch|drops off after a few meters", "is listed as ten meters"),
    ("Video/Night/Color Night/Spotlight", "The built-in spotlight for colour night video", "the spotlight",
     "gives full colour video at night|scared off a fox in the yard",
     "is far too dim to help|switches on for every passing car", "can be set to motion only"),
    ("Video/PTZ/Pan Tilt/Speed", "Pan and tilt motor speed and noise", "the pan and tilt motor",
     "moves smoothly and quietly|turns fast enough to follow people",
     "is loud and jerky|gets stuck halfway through a turn", "covers 355 degrees horizontally"),
    ("Video/PTZ/Tracking/Auto", "Automatic subject tracking with the motor", "the auto tracking",
     "follows people around the room nicely|keeps visitors centered in the frame",
     "chases shadows and curtains all day|loses people after a second", "works only with pan and tilt on"),
    ("Audio/Speaker/Two-Way/Delay", "Latency of two-way talk", "the two-way talk",
     "works with almost no delay|made chatting with the courier easy",
     "lags by several seconds|cuts off the start of every sentence", "uses a push to talk button"),
    ("Audio/Speaker/Volume/Loudness", "Speaker volume and distortion", "the speaker",
     "is loud enough to hear across the street|sounds clear at full volume",
     "is far too quiet outdoors|crackles at high volume", "has five volume levels"),
    ("Audio/Microphone/Clarity/Voices", "How clearly the microphone records speech", "the microphone",
     "picks up voices clearly|captures conversations very well",
     "sounds muffled and distant|makes voices hard to understand", "can be muted in the app"),
    ("Audio/Siren/Alarm/Volume", "The built-in siren", "the built-in siren",
     "is loud and startling in a good way|scared away a trespasser instantly",
     "is too weak to scare anyone|went off by itself at midnight", "can be triggered manually"),
    ("Motion/Detection/Sensitivity/False Alerts", "Alerts triggered by nothing relevant", "the motion alerts",
     "ignore trees and passing headlights|rarely trigger for nothing",
     "go off for every leaf and shadow|fire dozens of times per hour", "have a sensitivity slider"),
    ("Motion/Detection/Sensitivity/Missed Events", "Real events that were not detected", "the motion detection",
     "caught every single visitor|never misses the mail carrier",
     "missed a person walking right past|failed to record a break in",
     "has a short cooldown between events"),
    ("Motion/Detection/Zones/Setup", "Drawing and keeping activity zones", "the activity zones",
     "are easy to draw and adjust|cut out the street traffic perfectly",
     "reset themselves after each update|are awkward to draw on a phone", "allow up to four areas"),
    ("Motion/Detection/AI/Person", "Recognising people versus other motion", "the person detection",
     "is spot on and very reliable|tells people apart from pets",
     "thinks my coat rack is a person|labels cats as people constantly", "requires the subscription plan"),
    ("Motion/Detection/AI/Package", "Recognising parcels left at the door", "the package detection",
     "told me when my parcel arrived|spots deliveries at the door reliably",
     "never notices parcels on the step|flags the doormat as a package", "only works in daylight"),
    ("Motion/Notifications/Push/Delay", "How quickly push alerts arrive", "the push notifications",
     "arrive within a second or two|show up instantly on my watch",
     "arrive minutes after the event|stop coming until I reopen the app", "include a small snapshot"),
    ("Storage/Local/SD Card/Capacity", "Supported memory cards and card reliability", "the SD card slot",
     "takes a big card and records for weeks|works well with a large card",
     "refuses cards above 32 gigabytes|corrupted my memory card twice",
     "supports cards up to 256 gigabytes"),
    ("Storage/Local/NAS/RTSP", "Streaming to a recorder or home server", "the RTSP stream",
     "plugs into my recorder without trouble|works perfectly with my home server",
     "was removed in a firmware update|drops out every few minutes",
     "has to be enabled in advanced settings"),
    ("Storage/Cloud/Plan/Retention", "How long cloud clips are kept", "the cloud history",
     "keeps thirty days of clips for me|goes back far enough for my needs",
     "only keeps clips for three days|deleted footage I needed for the police", "depends on the chosen plan"),
    ("Storage/Cloud/Plan/Upload", "Uploading clips to the cloud", "the cloud upload",
     "is quick even on slow internet|finishes before I open the alert",
     "fails whenever the network is busy|eats up my monthly data cap", "happens in short chunks"),
    ("Storage/Cloud/Export/Download", "Saving clips to a phone or computer", "the clip download",
     "saves videos straight to my phone|is quick and keeps full quality",
     "fails with an unknown error|only offers low resolution files", "creates an MP4 file"),
    ("Connectivity/WiFi/Signal/Range", "Wi-Fi reach from the router to the camera", "the Wi-Fi range",
     "reaches my detached garage easily|is great even through brick walls",
     "is weak beyond one wall|cannot reach the end of the driveway", "depends on the router position"),
    ("Connectivity/WiFi/Signal/Dropouts", "The camera going offline", "the connection",
     "has stayed stable for months|never drops even during storms",
     "drops out several times a day|keeps going offline at night", "reconnects after about a minute"),
    ("Connectivity/WiFi/Band/5GHz", "Support for the 5 GHz Wi-Fi band", "the 5 GHz support",
     "gives a fast and stable stream|solved my crowded network issues",
     "is missing so I had to split my network|keeps falling back to the slower band",
     "needs a dual band router"),
    ("Connectivity/Wired/Ethernet/Port", "The wired network port", "the Ethernet port",
     "makes the feed rock solid|was a great option for my barn",
     "stopped working after a month|is too shallow to hold the cable", "sits under a rubber flap"),
    ("Connectivity/Smart Home/Voice/Alexa", "Working with Alexa devices", "the Alexa integration",
     "shows the feed on my Echo Show|worked on the first try",
     "keeps saying the camera is unresponsive|breaks after every update", "needs a separate skill installed"),
    ("Power/Battery/Life/Duration", "How long a battery charge lasts", "the battery",
     "lasts about three months per charge|holds up far longer than promised",
     "dies in less than a week|drains overnight for no reason", "charges in roughly six hours"),
    ("Power/Battery/Charging/Cable", "The supplied charging cable", "the charging cable",
     "is long and well made|charges the camera quickly",
     "is far too short to be useful|frayed within a few weeks", "uses a USB-C connector"),
    ("Power/Battery/Charging/Solar", "The optional solar panel", "the solar panel",
     "keeps the battery topped up all summer|means I never charge by hand",
     "barely charges on cloudy days|came with a mount that rusted", "is sold as an optional extra"),
    ("Power/Mains/Adapter/Plug", "The mains adapter and its plug type", "the power adapter",
     "fits my socket without any fuss|came with the right plug for my country",
     "had the wrong plug for my country|gets very hot when running", "is rated at five volts"),
    ("Power/Mains/Adapter/Outage", "Behaviour after a power cut", "after a power cut the camera",
     "came back online by itself|restarted and kept all my settings",
     "lost every setting I had made|stayed offline until I replugged it", "takes two minutes to boot up"),
    ("Build/Body/Material/Casing", "Look and feel of the camera housing", "the casing",
     "feels solid and premium|survived heavy rain without a problem",
     "feels cheap and flimsy|yellowed after one summer", "is made of white plastic"),
    ("Build/Body/Status LED/Brightness", "The status light on the front", "the status light",
     "is subtle and can be dimmed|tells me at a glance it is recording",
     "is blindingly bright at night|cannot be switched off", "blinks blue while pairing"),
    ("Delivery/Shipping/Speed/Late", "Delivery time versus the promised date", "the delivery",
     "arrived a day earlier than promised|was fast and well tracked",
     "arrived two weeks late|was delayed without any notice", "took five working days"),
    ("Delivery/Shipping/Customs/Fees", "Import duties and customs charges", "the import fees",
     "were already included at checkout|were clearly explained up front",
     "were a nasty surprise at the door|cost almost half the price again", "depend on the destination country"),
    ("Delivery/Package/Condition/Damage", "State of the parcel on arrival", "the box",
     "arrived in perfect condition|was well padded and intact",
     "arrived crushed and torn open|came with a cracked lens inside", "was delivered to a parcel locker"),
    ("Delivery/Package/Contents/Missing", "Items missing from the box", "the package contents",
     "were complete down to the last screw|included a spare mount as a bonus",
     "were missing the power adapter|lacked the promised SD card", "are listed on the side of the box"),
    ("Returns/Process/Label/Request", "Starting a return", "the return request",
     "took only a couple of clicks|was approved within an hour",
     "was rejected without any reason|required endless back and forth", "is filed through an online form"),
    ("Returns/Process/Label/Cost", "Who pays for return shipping", "the return shipping",
     "was free and fully prepaid|cost me nothing at all",
     "cost more than the camera itself|had to be paid out of my pocket", "is free within thirty days"),
    ("Returns/Refund/Timing/Speed", "How fast refunds arrive", "the refund",
     "arrived within three days|was processed really fast",
     "took over a month to arrive|still has not reached my account", "goes back to the original card"),
    ("Billing/Subscription/Price/Value", "Whether the plan is worth its price", "the subscription",
     "is good value for what it offers|is cheap for the features",
     "is far too expensive|locks basic features behind a paywall", "costs three dollars per month"),
    ("Billing/Subscription/Cancel/Process", "Cancelling a subscription", "the cancellation",
     "took one click in the app|was quick and painless",
     "is hidden deep in the website|required a long phone call", "takes effect at the period end"),
    ("Billing/Payment/Charges/Double", "Wrong, double or unexpected charges", "the billing",
     "has always been correct|is clear and accurate",
     "charged me twice this month|kept charging after I cancelled", "happens on the first of each month"),
    ("Billing/Payment/Charges/Invoice", "Getting invoices and receipts", "the invoice",
     "was easy to download for my taxes|shows every charge clearly",
     "is impossible to find in the app|has the wrong company address", "is emailed as a PDF"),
    ("Support/Contact/Chat/Wait", "Waiting time in the support chat", "the chat queue",
     "was short even on a weekend|moved along quickly",
     "kept me waiting for an hour|closed before anyone answered", "shows your place in line"),
    ("Support/Agent/Knowledge/Resolution", "Whether support solved the problem", "the support agent",
     "fixed my issue on the first call|knew the product inside out",
     "just read from a script|could not solve anything", "asked for the serial number"),
    ("Support/Self-Help/FAQ/Articles", "Online help articles and FAQ", "the help articles",
     "answered my question in minutes|are clear and well illustrated",
     "are outdated and unhelpful|describe menus that no longer exist", "are only in English"),
    ("Privacy/Data/Storage/Location", "Where footage and account data are stored", "the server location",
     "is in Europe which reassures me|is clearly stated in the policy",
     "is hidden in the fine print|seems to be outside my country", "depends on the account region"),
    ("Privacy/Data/Encryption/End-to-End", "End-to-end encryption of video", "the end-to-end encryption",
     "makes me feel my footage is safe|was easy to turn on",
     "breaks the Alexa feature|is only for paying customers", "is off by default"),
    ("Privacy/Data/Sharing/Third Parties", "Sharing data with partners and advertisers", "the data sharing policy",
     "is clear and lets me opt out|is refreshingly honest",
     "allows selling my data to advertisers|is vague about third parties", "was updated last month"),
    ("Privacy/Controls/Mode/Shutter", "The physical privacy shutter over the lens", "the privacy shutter",
     "covers the lens when I am home|gives me real peace of mind",
     "opens by itself at random|does not fully cover the lens", "is triggered by geofencing"),
]

_FRAMES = {
    "positive": ("{S} {p}.", "Happy to report that {s} {p}.", "{S} {p}, which I really appreciate.",
                 "Big plus: {s} {p}.", "Honestly, {s} {p}."),
    "negative": ("{S} {p}.", "Sadly, {s} {p}.", "{S} {p}, which is really frustrating.",
                 "Big minus: {s} {p}.", "Unfortunately {s} {p}."),
    "neutral": ("{S} {p}.", "For the record, {s} {p}.", "Worth noting that {s} {p}.", "FYI {s} {p}."),
}

# Whole sentences per language for a subset of leaves: (positive, negative, neutral).
_TRANSLATIONS: dict[str, dict[str, tuple[str, str, str]]] = {
    "de": {
        "Delivery/Shipping/Speed/Late": ("Die Lieferung kam einen Tag früher als versprochen.",
                                         "Die Lieferung kam zwei Wochen zu spät an.",
                                         "Die Lieferung dauerte fünf Werktage."),
        "Power/Battery/Life/Duration": ("Der Akku hält fast drei Monate mit einer Ladung.",
                                        "Der Akku ist nach weniger als einer Woche leer.",
                                        "Der Akku lädt in etwa sechs Stunden."),
        "Video/Night/Infrared/Range": ("Die Nachtsicht reicht bis ans Ende meines Gartens.",
                                       "Die Nachtsicht reicht kaum über die Haustür hinaus.",
                                       "Die Reichweite der Nachtsicht wird mit zehn Metern angegeben."),
        "App/Stability/Crashes/Launch": ("Die App ist seit Monaten kein einziges Mal abgestürzt.",
                                         "Die App stürzt jedes Mal beim Öffnen ab.",
                                         "Die App startet nach jedem Update neu."),
        "Connectivity/WiFi/Signal/Dropouts": ("Die Verbindung ist seit Monaten absolut stabil.",
                                              "Die Verbindung bricht mehrmals am Tag ab.",
                                              "Die Kamera verbindet sich nach etwa einer Minute wieder."),
        "Billing/Subscription/Price/Value": ("Das Abo ist sein Geld wirklich wert.",
                                             "Das Abo ist für diese Funktionen viel zu teuer.",
                                             "Das Abo kostet drei Euro im Monat."),
        "Support/Agent/Knowledge/Resolution": ("Der Mitarbeiter hat mein Problem beim ersten Anruf gelöst.",
                                               "Der Mitarbeiter konnte mir überhaupt nicht helfen.",
                                               "Der Mitarbeiter fragte nach der Seriennummer."),
        "Motion/Detection/Sensitivity/False Alerts": ("Die Bewegungsalarme ignorieren Bäume und Scheinwerfer.",
                                                      "Die Bewegungsalarme gehen bei jedem Blatt los.",
                                                      "Die Empfindlichkeit der Alarme lässt sich einstellen."),
    },
    "fr": {
        "Delivery/Shipping/Speed/Late": ("La livraison est arrivée un jour plus tôt que prévu.",
                                         "La livraison a eu deux semaines de retard.",
                                         "La livraison a pris cinq jours ouvrés."),
        "Power/Battery/Life/Duration": ("La batterie tient presque trois mois par charge.",
                                        "La batterie se vide en moins d'une semaine.",
                                        "La batterie se recharge en six heures environ."),
        "Video/Night/Infrared/Range": ("La vision nocturne couvre tout mon jardin sans problème.",
                                       "La vision nocturne ne dépasse guère le perron.",
                                       "La portée de la vision nocturne est indiquée à dix mètres."),
        "App/Stability/Crashes/Launch": ("L'application n'a pas planté une seule fois depuis des mois.",
                                         "L'application plante à chaque ouverture.",
                                         "L'application redémarre après chaque mise à jour."),
        "Connectivity/WiFi/Signal/Dropouts": ("La connexion est restée stable depuis des mois.",
                                              "La connexion se coupe plusieurs fois par jour.",
                                              "La caméra se reconnecte au bout d'une minute environ."),
        "Billing/Subscription/Price/Value": ("L'abonnement vaut vraiment son prix.",
                                             "L'abonnement est beaucoup trop cher pour ce qu'il offre.",
                                             "L'abonnement coûte trois euros par mois."),
        "Support/Agent/Knowledge/Resolution": ("Le conseiller a réglé mon problème dès le premier appel.",
                                               "Le conseiller n'a rien pu résoudre du tout.",
                                               "Le conseiller m'a demandé le numéro de série."),
        "Motion/Detection/Sensitivity/False Alerts": ("Les alertes de mouvement ignorent les arbres et les phares.",
                                                      "Les alertes de mouvement se déclenchent pour chaque feuille.",
                                                      "La sensibilité des alertes se règle dans l'application."),
    },
    "es": {
        "Delivery/Shipping/Speed/Late": ("El envío llegó un día antes de lo prometido.",
                                         "El envío llegó con dos semanas de retraso.",
                                         "El envío tardó cinco días hábiles."),
        "Power/Battery/Life/Duration": ("La batería dura casi tres meses con una carga.",
                                        "La batería se agota en menos de una semana.",
                                        "La batería se carga en unas seis horas."),
        "Video/Night/Infrared/Range": ("La visión nocturna llega hasta el fondo del jardín.",
                                       "La visión nocturna apenas pasa de la puerta.",
                                       "Según la caja, la visión nocturna alcanza diez metros."),
        "App/Stability/Crashes/Launch": ("La aplicación no se ha cerrado ni una vez en meses.",
                                         "La aplicación se cierra cada vez que la abro.",
                                         "La aplicación se reinicia después de cada actualización."),
        "Connectivity/WiFi/Signal/Dropouts": ("La conexión lleva meses totalmente estable.",
                                              "La conexión se cae varias veces al día.",
                                              "La cámara se vuelve a conectar en un minuto más o menos."),
        "Billing/Subscription/Price/Value": ("La suscripción vale realmente lo que cuesta.",
                                             "La suscripción es demasiado cara para lo que ofrece.",
                                             "La suscripción cuesta tres euros al mes."),
        "Support/Agent/Knowledge/Resolution": ("El agente resolvió mi problema en la primera llamada.",
                                               "El agente no pudo resolver nada de nada.",
                                               "El agente me pidió el número de serie."),
        "Motion/Detection/Sensitivity/False Alerts": ("Las alertas de movimiento ignoran los árboles y los faros.",
                                                      "Las alertas de movimiento saltan con cada hoja.",
                                                      "La sensibilidad de las alertas se puede ajustar."),
    },
    "ja": {
        "Delivery/Shipping/Speed/Late": ("配達は予定より一日早く届きました。", "配達が二週間も遅れました。",
                                         "配達には五営業日かかりました。"),
        "Power/Battery/Life/Duration": ("バッテリーは一回の充電で三か月ほど持ちます。",
                                        "バッテリーが一週間もたたずに切れます。",
                                        "バッテリーの充電には約六時間かかります。"),
        "Video/Night/Infrared/Range": ("暗視は庭の奥までしっかり見えます。",
                                       "暗視は玄関先くらいまでしか届きません。",
                                       "暗視の範囲は十メートルと書かれています。"),
        "App/Stability/Crashes/Launch": ("アプリはこの数か月一度も落ちていません。",
                                         "アプリを開くたびに落ちます。", "アプリは更新のたびに再起動します。"),
        "Connectivity/WiFi/Signal/Dropouts": ("接続は何か月も安定しています。", "接続が一日に何度も切れます。",
                                              "カメラは一分ほどで再接続します。"),
        "Billing/Subscription/Price/Value": ("サブスクは値段に見合う価値があります。",
                                             "サブスクの料金が高すぎます。", "サブスクは月額三百円です。"),
        "Support/Agent/Knowledge/Resolution": ("担当者は最初の電話で問題を解決してくれました。",
                                               "担当者は何も解決できませんでした。",
                                               "担当者にシリアル番号を聞かれました。"),
        "Motion/Detection/Sensitivity/False Alerts": ("動体検知の通知は木や車のライトには反応しません。",
                                                      "葉っぱが揺れるたびに動体検知の通知が来ます。",
                                                      "通知の感度はアプリで調整できます。"),
    },
}
_SENTIMENT_INDEX = {"positive": 0, "negative": 1, "neutral": 2}
_SPECS = {entry[0]: entry for entry in _LEAVES}


def demo_taxonomy() -> Taxonomy:
    """The fixed demo taxonomy (the leaf order is the table order, so the CSV is stable)."""
    leaves = tuple(tuple(key.split("/")) for key, *_ in _LEAVES)
    descriptions = {tuple(key.split("/")): desc for key, desc, *_ in _LEAVES}
    return Taxonomy(levels=LEVELS, leaves=leaves, descriptions=descriptions)


def _zipf_weights(rng: random.Random) -> dict[str, float]:
    """Weight 1/rank^s over a seeded shuffle of the leaves: a long tail that differs per seed."""
    keys = [key for key, *_ in _LEAVES]
    rng.shuffle(keys)
    return {key: 1.0 / (rank ** ZIPF_EXPONENT) for rank, key in enumerate(keys, start=1)}


def _pick(rng: random.Random, table: dict) -> object:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _sample_leaves(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    """Weighted sampling without replacement, so one comment never repeats a leaf."""
    pool = dict(weights)
    chosen: list[str] = []
    for _ in range(min(k, len(pool))):
        key = _pick(rng, pool)
        chosen.append(key)
        del pool[key]
    return chosen


def _english_sentence(rng: random.Random, key: str, emotion: str) -> str:
    _, _, subject, pos, neg, neu = _SPECS[key]
    predicate = rng.choice({"positive": pos, "negative": neg, "neutral": neu}[emotion].split("|"))
    frame = rng.choice(_FRAMES[emotion])
    return frame.format(S=subject[0].upper() + subject[1:], s=subject, p=predicate)


def _sentence(rng: random.Random, lang: str, key: str, emotion: str) -> str:
    if lang == "en":
        return _english_sentence(rng, key, emotion)
    return _TRANSLATIONS[lang][key][_SENTIMENT_INDEX[emotion]]


def _comment(rng: random.Random, lang: str, weights: dict[str, float]) -> tuple[str, list[dict]]:
    """One comment: 1-4 segments on distinct leaves, each a sentence in `lang` with its own sentiment."""
    if lang != "en":
        weights = {k: w for k, w in weights.items() if k in _TRANSLATIONS[lang]}
    segments = []
    for key in _sample_leaves(rng, weights, _pick(rng, SEGMENT_COUNTS)):
        emotion = _pick(rng, EMOTIONS)
        seg = {"content": _sentence(rng, lang, key, emotion)}
        seg.update(zip(LEVELS, key.split("/"), strict=True))
        seg["emotion"] = emotion
        segments.append(seg)
    return " ".join(s["content"] for s in segments), segments


def build_comments(n_comments: int, seed: int) -> tuple[list[dict], Counter]:
    """Generate the comment records and a count per language.

    Texts are unique: an exact duplicate would leak across a train/test split, so a comment whose text was
    already produced is re-drawn (new segment count, leaves, sentiments and phrasings) up to MAX_ATTEMPTS
    times; if the template space is exhausted we raise instead of silently emitting duplicates.
    """
    rng = random.Random(seed)
    weights = _zipf_weights(rng)
    n_foreign = round(n_comments * NON_ENGLISH_SHARE)
    foreign = set(rng.sample(range(n_comments), n_foreign))
    languages = sorted(_TRANSLATIONS)
    seen: set[str] = set()
    rows, by_lang = [], Counter()
    for i in range(n_comments):
        lang = rng.choice(languages) if i in foreign else "en"
        for _ in range(MAX_ATTEMPTS):
            text, segments = _comment(rng, lang, weights)
            if text not in seen:
                break
        else:
            raise RuntimeError(f"could not make {n_comments} unique comments; use a smaller --n")
        seen.add(text)
        by_lang[lang] += 1
        rows.append({"id": f"demo-{i + 1:05d}", "text": text, "segments": segments})
    return rows, by_lang


def generate_demo(out_dir: Path, n_comments: int = 600, seed: int = 0) -> dict:
    """Write `taxonomy.csv` and `comments.jsonl` under `out_dir`; return counts for logging and tests."""
    out_dir = Path(out_dir)
    taxonomy = demo_taxonomy()
    rows, by_lang = build_comments(n_comments, seed)
    write_taxonomy(out_dir / "taxonomy.csv", taxonomy)
    write_jsonl(out_dir / "comments.jsonl", rows)
    return {
        "comments": len(rows),
        "segments": sum(len(r["segments"]) for r in rows),
        "leaves": len(taxonomy.leaves),
        "non_english": len(rows) - by_lang["en"],
        "languages": dict(sorted(by_lang.items())),
    }


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data/raw/demo"),
              show_default=True, help="Folder for taxonomy.csv and comments.jsonl.")
@click.option("--n", "n_comments", type=click.IntRange(min=1), default=600, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def main(out: Path, n_comments: int, seed: int) -> None:
    """Generate the demo taxonomy and comments (same seed, same bytes)."""
    click.echo(json.dumps(generate_demo(out, n_comments, seed)))


if __name__ == "__main__":
    main()
