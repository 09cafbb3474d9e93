"""An edge-tts voice for each language: the user's pin (`edge_tts_voices`), else a table of Microsoft's neural
voices, of the same gender as `edge_tts_voice` (the voice the user chose for their own language).

A table rather than edge-tts's voice list: the list is a network request (and edge-tts is the voice used when the
network is there, but the choice must not wait for it), and it offers ~400 voices with no "the usual one" among
them. Every name here is in edge-tts's list (checked 2026-12 against `edge-tts --list-voices`).
"""

from __future__ import annotations

# language -> (female, male)
VOICES: dict[str, tuple[str, str]] = {
    "en": ("en-US-AriaNeural", "en-US-GuyNeural"),
    "es": ("es-ES-ElviraNeural", "es-ES-AlvaroNeural"),
    "fr": ("fr-FR-DeniseNeural", "fr-FR-HenriNeural"),
    "de": ("de-DE-KatjaNeural", "de-DE-ConradNeural"),
    "it": ("it-IT-ElsaNeural", "it-IT-DiegoNeural"),
    "pt": ("pt-BR-FranciscaNeural", "pt-BR-AntonioNeural"),
    "pl": ("pl-PL-ZofiaNeural", "pl-PL-MarekNeural"),
    "tr": ("tr-TR-EmelNeural", "tr-TR-AhmetNeural"),
    "ru": ("ru-RU-SvetlanaNeural", "ru-RU-DmitryNeural"),
    "nl": ("nl-NL-ColetteNeural", "nl-NL-MaartenNeural"),
    "cs": ("cs-CZ-VlastaNeural", "cs-CZ-AntoninNeural"),
    "ar": ("ar-SA-ZariyahNeural", "ar-SA-HamedNeural"),
    "zh": ("zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural"),
    "ja": ("ja-JP-NanamiNeural", "ja-JP-KeitaNeural"),
    "hu": ("hu-HU-NoemiNeural", "hu-HU-TamasNeural"),
    "ko": ("ko-KR-SunHiNeural", "ko-KR-InJoonNeural"),
    "hi": ("hi-IN-SwaraNeural", "hi-IN-MadhurNeural"),
    "sv": ("sv-SE-SofieNeural", "sv-SE-MattiasNeural"),
    "da": ("da-DK-ChristelNeural", "da-DK-JeppeNeural"),
    "no": ("nb-NO-PernilleNeural", "nb-NO-FinnNeural"),
    "fi": ("fi-FI-NooraNeural", "fi-FI-HarriNeural"),
    "ro": ("ro-RO-AlinaNeural", "ro-RO-EmilNeural"),
    "ca": ("ca-ES-JoanaNeural", "ca-ES-EnricNeural"),
    "uk": ("uk-UA-PolinaNeural", "uk-UA-OstapNeural"),
    "el": ("el-GR-AthinaNeural", "el-GR-NestorasNeural"),
    "sk": ("sk-SK-ViktoriaNeural", "sk-SK-LukasNeural"),
    "bg": ("bg-BG-KalinaNeural", "bg-BG-BorislavNeural"),
    "hr": ("hr-HR-GabrijelaNeural", "hr-HR-SreckoNeural"),
    "vi": ("vi-VN-HoaiMyNeural", "vi-VN-NamMinhNeural"),
    "id": ("id-ID-GadisNeural", "id-ID-ArdiNeural"),
    "he": ("he-IL-HilaNeural", "he-IL-AvriNeural"),
}
# Male voices of the user's likely own-language choices that the table does not list (the rest count as female).
OTHER_MALE = {"en-US-ChristopherNeural", "en-US-EricNeural", "en-US-RogerNeural", "en-US-SteffanNeural",
              "en-US-AndrewNeural", "en-US-BrianNeural", "en-GB-RyanNeural", "en-GB-ThomasNeural",
              "en-AU-WilliamNeural", "en-IN-PrabhatNeural", "fr-FR-RemyMultilingualNeural", "de-DE-KillianNeural",
              "de-DE-FlorianMultilingualNeural", "es-MX-JorgeNeural", "pt-PT-DuarteNeural"}
_MALE = {male for _female, male in VOICES.values()} | OTHER_MALE


def voice_language(voice: str) -> str:
    """"fr-FR-DeniseNeural" -> "fr" ("nb" -> "no", as the detector calls Norwegian)."""
    code = voice.split("-")[0].lower()
    return "no" if code == "nb" else code


def is_male(voice: str) -> bool:
    return voice in _MALE


def voice_for(language: str, default: str, pins: dict[str, str]) -> str | None:
    """The voice that reads `language`: a pin, the default when it is of that language, else the table's voice of
    the default's gender; None when neither knows the language."""
    if not language or voice_language(default) == language:
        return pins.get(language) or default
    if language in pins:
        return pins[language]
    pair = VOICES.get(language)
    if pair is None:
        return None
    return pair[1] if is_male(default) else pair[0]
