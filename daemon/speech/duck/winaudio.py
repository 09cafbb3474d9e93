"""Ducking on Windows: other processes' audio sessions (Core Audio's ISimpleAudioVolume), by raw ctypes COM.

Every active render endpoint's IAudioSessionManager2 lists its sessions; a session is keyed "pid|instance id"
(the instance identifier is unique per session and lives as long as it). No COM library needed: the few
vtable slots used are called through ctypes. Each call joins the multithreaded apartment (CoInitializeEx) and
leaves it (CoUninitialize) on its own thread, every interface released before.
"""

from __future__ import annotations

import ctypes
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from ctypes import wintypes
from typing import Any

from daemon.speech.duck.base import AppStream, DuckUnavailable, Volumes

CLSID_MMDeviceEnumerator = "BCDE0395-E52F-467C-8E3D-C4579291692E"
IID_IMMDeviceEnumerator = "A95664D2-9614-4F35-A746-DE8DB63617E6"
IID_IAudioSessionManager2 = "77AA99A0-1BD6-484F-8BC7-2C654C9A9B6F"
IID_IAudioSessionControl2 = "BFB7FF88-7239-4FC9-8FA2-07C950BE9C6D"
IID_ISimpleAudioVolume = "87CE5498-68D6-44E5-9215-6DA47EF883D8"
CLSCTX_ALL, E_RENDER, DEVICE_STATE_ACTIVE, SESSION_EXPIRED = 0x17, 0, 1, 2
COINIT_MULTITHREADED, RPC_E_CHANGED_MODE = 0, -2147417850  # 0x80010106: the thread is an STA already (still usable)
# vtable slots (IUnknown is 0-2)
QI, RELEASE = 0, 2
ENUM_ENDPOINTS, COLLECTION_COUNT, COLLECTION_ITEM, DEVICE_ACTIVATE = 3, 3, 4, 3
GET_SESSION_ENUMERATOR, ENUM_COUNT, ENUM_GET = 5, 3, 4
SESSION_STATE, SESSION_DISPLAY_NAME, SESSION_INSTANCE_ID, SESSION_PID, SESSION_IS_SYSTEM = 3, 4, 13, 14, 15
SET_MASTER, GET_MASTER = 3, 4


class _GUID(ctypes.Structure):
    _fields_ = [("data", ctypes.c_ubyte * 16)]


def _guid(text: str) -> _GUID:
    g = _GUID()
    ctypes.memmove(g.data, uuid.UUID(text).bytes_le, 16)
    return g


def _call(obj: ctypes.c_void_p, slot: int, what: str, *args: tuple[Any, Any]) -> int:
    """Call vtable `slot` of COM object `obj` with (ctype, value) arguments; a failed HRESULT raises."""
    vtbl = ctypes.cast(obj, ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p))).contents
    proto = ctypes.WINFUNCTYPE(ctypes.c_long, ctypes.c_void_p, *(t for t, _ in args))  # type: ignore[attr-defined,unused-ignore]
    hr = int(proto(vtbl[slot])(obj, *(v for _, v in args)))
    if hr < 0:
        raise DuckUnavailable(f"Core Audio {what} failed (0x{hr & 0xFFFFFFFF:08X})")
    return hr


class WinBackend:
    """Audio sessions of other processes on every active output device."""

    name = "winaudio"
    tolerance = 1e-4  # the master volume is a float32

    def __init__(self) -> None:
        self._ole32 = ctypes.WinDLL("ole32")  # type: ignore[attr-defined,unused-ignore]
        sigs = {"CoTaskMemFree": ([ctypes.c_void_p], None), "CoUninitialize": ([], None),
                "CoInitializeEx": ([ctypes.c_void_p, wintypes.DWORD], ctypes.c_long),
                "CoCreateInstance": ([ctypes.c_void_p, ctypes.c_void_p, wintypes.DWORD, ctypes.c_void_p,
                                      ctypes.c_void_p], ctypes.c_long)}
        for name, (args, res) in sigs.items():
            fn = getattr(self._ole32, name)
            fn.argtypes, fn.restype = args, res
        self._own = os.getpid()

    def streams(self) -> list[AppStream]:
        with self._sessions() as sessions:
            return [AppStream(key, name, (self._get(vol),)) for key, name, vol in sessions]

    def set_volumes(self, key: str, volumes: Volumes) -> None:
        with self._sessions() as sessions:
            for k, _, vol in sessions:
                if k == key:
                    null = ctypes.c_void_p()
                    _call(vol, SET_MASTER, "SetMasterVolume", (ctypes.c_float, float(volumes[0])),
                          (ctypes.c_void_p, null))
                    return
        raise DuckUnavailable("the audio session has gone")

    def scaled(self, volumes: Volumes, level: float) -> Volumes:
        return tuple(v * level for v in volumes)

    def _get(self, vol: ctypes.c_void_p) -> float:
        level = ctypes.c_float()
        _call(vol, GET_MASTER, "GetMasterVolume", (ctypes.c_void_p, ctypes.addressof(level)))
        return float(level.value)

    def _out(self, obj: ctypes.c_void_p, slot: int, what: str, held: list[ctypes.c_void_p],
             *args: tuple[Any, Any]) -> ctypes.c_void_p:
        """Call a method whose last argument receives an interface; the interface is released later."""
        out = ctypes.c_void_p()
        _call(obj, slot, what, *args, (ctypes.c_void_p, ctypes.addressof(out)))
        if not out.value:
            raise DuckUnavailable(f"Core Audio {what} gave nothing")
        held.append(out)
        return out

    def _string(self, obj: ctypes.c_void_p, slot: int, what: str) -> str:
        text = ctypes.c_void_p()
        _call(obj, slot, what, (ctypes.c_void_p, ctypes.addressof(text)))
        try:
            return ctypes.wstring_at(text.value) if text.value else ""
        finally:
            self._ole32.CoTaskMemFree(text)

    @contextmanager
    def _sessions(self) -> Iterator[list[tuple[str, str, ctypes.c_void_p]]]:
        """(key, name, ISimpleAudioVolume) of other processes' sessions; released on exit."""
        hr = self._ole32.CoInitializeEx(None, COINIT_MULTITHREADED)  # S_OK, S_FALSE (joined again): uninitialise
        if hr < 0 and hr != RPC_E_CHANGED_MODE:
            raise DuckUnavailable(f"Core Audio: COM could not be initialised (0x{hr & 0xFFFFFFFF:08X})")
        held: list[ctypes.c_void_p] = []
        try:
            yield list(self._list(held))
        except OSError as exc:
            raise DuckUnavailable(f"Core Audio: {exc}") from None
        finally:
            for obj in reversed(held):
                _call(obj, RELEASE, "Release")  # returns the new reference count, never negative
            if hr >= 0:
                self._ole32.CoUninitialize()

    def _list(self, held: list[ctypes.c_void_p]) -> Iterator[tuple[str, str, ctypes.c_void_p]]:
        enumerator = ctypes.c_void_p()
        clsid, iid = _guid(CLSID_MMDeviceEnumerator), _guid(IID_IMMDeviceEnumerator)
        hr = self._ole32.CoCreateInstance(ctypes.byref(clsid), None, CLSCTX_ALL, ctypes.byref(iid),
                                          ctypes.byref(enumerator))
        if hr < 0 or not enumerator.value:
            raise DuckUnavailable(f"Core Audio is not available (0x{hr & 0xFFFFFFFF:08X})")
        held.append(enumerator)
        devices = self._out(enumerator, ENUM_ENDPOINTS, "EnumAudioEndpoints", held,
                            (wintypes.UINT, E_RENDER), (wintypes.DWORD, DEVICE_STATE_ACTIVE))
        count = wintypes.UINT()
        _call(devices, COLLECTION_COUNT, "IMMDeviceCollection::GetCount", (ctypes.c_void_p, ctypes.addressof(count)))
        manager_iid, control_iid, volume_iid = (_guid(IID_IAudioSessionManager2), _guid(IID_IAudioSessionControl2),
                                                _guid(IID_ISimpleAudioVolume))
        for i in range(count.value):
            device = self._out(devices, COLLECTION_ITEM, "IMMDeviceCollection::Item", held, (wintypes.UINT, i))
            manager = self._out(device, DEVICE_ACTIVATE, "IMMDevice::Activate(IAudioSessionManager2)", held,
                                (ctypes.c_void_p, ctypes.addressof(manager_iid)), (wintypes.DWORD, CLSCTX_ALL),
                                (ctypes.c_void_p, None))
            sessions = self._out(manager, GET_SESSION_ENUMERATOR, "IAudioSessionManager2::GetSessionEnumerator", held)
            n = ctypes.c_int()
            _call(sessions, ENUM_COUNT, "IAudioSessionEnumerator::GetCount", (ctypes.c_void_p, ctypes.addressof(n)))
            for j in range(n.value):
                control = self._out(sessions, ENUM_GET, "IAudioSessionEnumerator::GetSession", held, (ctypes.c_int, j))
                found = self._session(control, held, control_iid, volume_iid)
                if found is not None:
                    yield found

    def _session(self, control: ctypes.c_void_p, held: list[ctypes.c_void_p], control_iid: _GUID,
                 volume_iid: _GUID) -> tuple[str, str, ctypes.c_void_p] | None:
        control2 = self._out(control, QI, "QueryInterface(IAudioSessionControl2)", held,
                             (ctypes.c_void_p, ctypes.addressof(control_iid)))
        pid, state = wintypes.DWORD(), ctypes.c_int()
        _call(control2, SESSION_PID, "GetProcessId", (ctypes.c_void_p, ctypes.addressof(pid)))
        _call(control2, SESSION_STATE, "GetState", (ctypes.c_void_p, ctypes.addressof(state)))
        if pid.value in (0, self._own) or state.value == SESSION_EXPIRED:
            return None
        if _call(control2, SESSION_IS_SYSTEM, "IsSystemSoundsSession") == 0:  # S_OK: the system sounds
            return None
        instance = self._string(control2, SESSION_INSTANCE_ID, "GetSessionInstanceIdentifier")
        name = self._string(control2, SESSION_DISPLAY_NAME, "GetDisplayName")
        if not name:  # "...|\Device\...\app.exe%b{...}|..." -> app.exe
            name = instance.split("|")[1].split("%b")[0].rsplit("\\", 1)[-1] if "|" in instance else f"pid {pid.value}"
        volume = self._out(control2, QI, "QueryInterface(ISimpleAudioVolume)", held,
                           (ctypes.c_void_p, ctypes.addressof(volume_iid)))
        return f"{pid.value}|{instance}", name, volume
