"""The tray's Output device list on Windows, from the devices Wine's PortAudio (real sounddevice, real
winmm/dsound/WASAPI under Wine) exposes: MME's, once per name, without the default's aliases ("Microsoft Sound
Mapper - Output", Wine's "Wine Sound Mapper - Output", DirectSound's "Primary Sound Driver"). Not provable here: real hardware names (MME's 31-character
cut of a long name) and a device unplugged while playing (Wine's drivers do not disappear)."""

from __future__ import annotations

import sounddevice as sd

from daemon.speech import devices


def test_the_list_is_mmes_outputs_once_each_without_the_default_aliases() -> None:
    apis = [h["name"] for h in sd.query_hostapis()]
    listed = devices.rescan()
    every = [(apis[d["hostapi"]], d["name"]) for d in sd.query_devices() if d["max_output_channels"] > 0]
    print("outputs:", every, "listed:", listed)  # what Wine exposes, for the record
    assert "MME" in apis and listed, apis
    assert {d.hostapi for d in listed} == {"MME"}
    names = [d.name for d in listed]
    assert len(names) == len(set(names))
    assert not {n.lower() for n in names} & devices.DEFAULT_ALIASES
    assert not [n for n in names if "sound mapper" in n.lower()]  # Wine's "Wine Sound Mapper - Output" included
    assert len(every) > len(names)  # other host APIs list the same devices again: they are left out
    index, info = devices.resolve_device(names[0])  # chosen by name: MME's device, not another API's twin
    assert index == listed[0].index and apis[info["hostapi"]] == "MME"
