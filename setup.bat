@echo off
rem VoxTray on Windows, in one command: run it from the project folder (double-click, or in a terminal).
rem   setup.bat            set up (first time: several minutes, ~5 GB) and start VoxTray in the tray
rem   setup.bat --no-run   set up only
rem   setup.bat --dry-run  print what would be done, change nothing
rem Steps: 1. find Python 3.11 (py launcher, else python on PATH); 2. create .venv; 3. pick the PyTorch build: the
rem CUDA build from PyTorch's own index when nvidia-smi reports an NVIDIA driver new enough for it (PyPI's Windows
rem torch is CPU-only), else the CPU build; 4. install torch + torchaudio, then requirements.txt; 5. start VoxTray
rem without a console window (pythonw voxtray.pyw). Safe to run again: finished steps are skipped.
setlocal EnableExtensions EnableDelayedExpansion
cd /d "%~dp0"

set "DRY="
set "RUN=1"
for %%A in (%*) do (
  if /i "%%~A"=="--dry-run" set "DRY=1"
  if /i "%%~A"=="--no-run" set "RUN="
  if /i "%%~A"=="--help" goto :help
  if /i "%%~A"=="-h" goto :help
)

set "TORCH=2.11.0"
set "PY="
echo [1/5] Looking for Python 3.11
rem (errorlevel checks, not && / ||: they behave the same in every cmd, Wine's included)
py -3.11 -c "import sys" >nul 2>&1
if not errorlevel 1 set "PY=py -3.11"
if not defined PY (
  python -c "import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)" >nul 2>&1
  if not errorlevel 1 set "PY=python"
)
if not defined PY (
  echo setup: Python 3.11 was not found. Install it from https://www.python.org/downloads/windows/ ^(tick "Add
  echo python.exe to PATH" and "py launcher"^), then run setup.bat again.
  exit /b 1
)
echo       using: %PY%

echo [2/5] Virtual environment .venv
if exist ".venv\Scripts\python.exe" (
  echo       exists
) else (
  call :do %PY% -m venv .venv
  if errorlevel 1 goto :failed
)
set "VPY=.venv\Scripts\python.exe"

echo [3/5] Choosing the PyTorch build
set "INDEX=cpu"
set "DRIVER="
for /f "tokens=1 delims=." %%D in ('nvidia-smi --query-gpu^=driver_version --format^=csv^,noheader 2^>nul') do (
  if not defined DRIVER set "DRIVER=%%D"
)
if defined DRIVER (
  if !DRIVER! GEQ 570 (
    set "INDEX=cu128"
  ) else if !DRIVER! GEQ 528 (
    set "INDEX=cu126"
  ) else (
    echo       NVIDIA driver !DRIVER! is too old for CUDA 12: using the CPU build. Update the driver
    echo       ^(https://www.nvidia.com/drivers^) and run setup.bat again for the cloned voice on the GPU.
  )
  echo       NVIDIA driver !DRIVER!: PyTorch build !INDEX!
) else (
  echo       no NVIDIA GPU found ^(nvidia-smi^): the CPU build; VoxTray speaks with edge-tts or the system voice
)

echo [4/5] Installing packages ^(first time: several minutes^)
call :do "%VPY%" -m pip install --upgrade pip
if errorlevel 1 goto :failed
call :do "%VPY%" -m pip install torch==%TORCH% torchaudio==%TORCH% --index-url https://download.pytorch.org/whl/!INDEX!
if errorlevel 1 goto :failed
call :do "%VPY%" -m pip install -r requirements.txt
if errorlevel 1 goto :failed

if not defined RUN (
  echo [5/5] Done. Start VoxTray with: .venv\Scripts\pythonw.exe voxtray.pyw
  exit /b 0
)
echo [5/5] Starting VoxTray ^(look for its icon in the tray; python install_service.py install starts it at login^)
if defined DRY (
  echo       would run: start "" ".venv\Scripts\pythonw.exe" "%~dp0voxtray.pyw" run
  exit /b 0
)
start "" ".venv\Scripts\pythonw.exe" "%~dp0voxtray.pyw" run
exit /b 0

:do
if defined DRY (
  echo       would run: %*
  exit /b 0
)
echo       %*
%*
exit /b %errorlevel%

:failed
echo setup: that step failed ^(see the messages above^). Check the internet connection and run setup.bat again.
exit /b 1

:help
echo Usage: setup.bat [--no-run] [--dry-run]
echo Sets up VoxTray in .venv ^(CUDA PyTorch when an NVIDIA driver is found^) and starts it.
exit /b 0
