@echo off
rem VoxTray on Windows, in one command: run it from the project folder (double-click, or in a terminal).
rem   setup.bat            set up (first time: several minutes, ~5 GB) and start VoxTray in the tray
rem   setup.bat --no-run   set up only
rem   setup.bat --dry-run  print what would be done, change nothing
rem Steps: 1. find 64-bit Python 3.11 (py launcher, else python on PATH; 32-bit and Microsoft Store Pythons are
rem refused) and check that it loads the Microsoft Visual C++ 2015-2022 Redistributable (msvcp140.dll: torch
rem needs it); 2. create .venv (recreated when another Python version made it); 3. pick the PyTorch build: the
rem CUDA build from PyTorch's own index when nvidia-smi reports an NVIDIA driver new enough for it (PyPI's Windows
rem torch is CPU-only), else the CPU build; 4. install torch + torchaudio (an installed build of the wrong kind,
rem e.g. CPU after a driver update, is replaced), then requirements.txt; 5. start VoxTray without a console window
rem (pythonw voxtray.pyw). Safe to run again: finished steps are skipped. Nothing is created before step 1 passes.
rem Output: shown here and kept in setup.log beside this file (pip's full log too). On failure a double-clicked
rem window waits for a key before it closes; a run from a terminal or CI never waits.
rem Environment (optional):
rem   VOXTRAY_TORCH_INDEX  base URL of the PyTorch wheel index (default https://download.pytorch.org/whl; the build
rem                        name is appended: .../cpu, .../cu126, .../cu128). A mirror, or a local PEP 503 index.
rem   VOXTRAY_NO_PAUSE, CI set (any value): never wait for a key, even when double-clicked.
rem Delayed expansion stays OFF throughout: it would eat every "!" in the folder's path.
setlocal EnableExtensions DisableDelayedExpansion
cd /d "%~dp0"

set "DRY="
set "RUN=1"
for %%A in (%*) do (
  if /i "%%~A"=="--dry-run" set "DRY=1"
  if /i "%%~A"=="--no-run" set "RUN="
  if /i "%%~A"=="--help" goto :help
  if /i "%%~A"=="-h" goto :help
)

rem Explorer runs a double-clicked .bat as: cmd.exe /c ""<full path>\setup.bat" " (its window closes when cmd ends).
rem Compared without the quotes; a terminal's cmd, PowerShell or CI start it otherwise, or set CI.
set "PAUSE_ON_FAIL="
set "CMDL=%cmdcmdline:"=%"
rem (again: where cmdcmdline is undefined, e.g. Wine's cmd, the line above leaves  "=  behind)
set "CMDL=%CMDL:"=%"
set "CMDL=%CMDL:*/c =%"
if /i "%CMDL%"=="%~f0 " set "PAUSE_ON_FAIL=1"
if defined CI set "PAUSE_ON_FAIL="
if defined VOXTRAY_NO_PAUSE set "PAUSE_ON_FAIL="

set "LOG=setup.log"
if defined DRY set "LOG=nul"
if not defined DRY (
  type nul >"%LOG%" 2>nul
  if errorlevel 1 set "LOG=nul"
)
if not "%LOG%"=="nul" set "PIP_LOG=%CD%\%LOG%"

if not defined VOXTRAY_TORCH_INDEX set "VOXTRAY_TORCH_INDEX=https://download.pytorch.org/whl"
set "TORCH=2.11.0"
set "PY="
set "WHY="
call :say "[1/5] Looking for Python 3.11"
call :probe py -3.11
if not defined PY call :probe python
if not defined PY goto :nopython
call :say "      using: %PY%"
set "VCOK="
for /f "delims=" %%R in ('%PY% -c "import ctypes; ctypes.WinDLL('msvcp140.dll'); print('ok')" 2^>nul ^<nul') do set "VCOK=%%R"
if not "%VCOK%"=="ok" (
  call :say "setup: the Microsoft Visual C++ 2015-2022 Redistributable (x64) is missing: PyTorch cannot load without it."
  call :say "       Install Microsoft's vc_redist.x64.exe from https://aka.ms/vs/17/release/vc_redist.x64.exe, then run setup.bat again."
  goto :stop
)
rem torch's longest file is 119 characters under .venv\Lib\site-packages\ (25): past 115 the path exceeds
rem Windows' 259-character limit unless long paths are enabled.
set "LONGPATH="
if not "%CD:~115,1%"=="" set "LONGPATH=1"
for /f "tokens=3" %%V in ('reg query "HKLM\SYSTEM\CurrentControlSet\Control\FileSystem" /v LongPathsEnabled 2^>nul') do (
  if "%%V"=="0x1" set "LONGPATH="
)
if defined LONGPATH (
  call :say "setup: warning: this folder's path is longer than 115 characters and Windows long paths are off: installing torch will fail (its files would pass 260 characters)."
  call :say "       Move the project to a short path such as C:\VoxTray, or enable long paths (as administrator: reg add HKLM\SYSTEM\CurrentControlSet\Control\FileSystem /v LongPathsEnabled /t REG_DWORD /d 1 /f, or Group Policy: Computer Configuration > Administrative Templates > System > Filesystem > Enable Win32 long paths) and run setup.bat again."
)

call :say "[2/5] Virtual environment .venv"
set "VPY=.venv\Scripts\python.exe"
if not exist ".venv\" goto :venv_create
set "VENVVER="
if exist ".venv\pyvenv.cfg" for /f "usebackq tokens=1,* delims== " %%A in (".venv\pyvenv.cfg") do (
  if /i "%%A"=="version" set "VENVVER=%%B"
  if /i "%%A"=="version_info" set "VENVVER=%%B"
)
if not defined VENVVER set "VENVVER=unknown"
if "%VENVVER:~0,5%"=="3.11." if exist "%VPY%" (
  call :say "      exists"
  goto :venv_done
)
if "%VENVVER%"=="unknown" (
  call :say "      .venv is incomplete: deleting it and creating it again"
) else (
  call :say "      .venv was made by Python %VENVVER%, VoxTray needs 3.11: deleting it and creating it again"
)
if defined DRY (
  echo       would run: rmdir /s /q .venv
  goto :venv_create
)
rmdir /s /q .venv
if exist ".venv\" (
  call :say "setup: could not delete .venv: close VoxTray and any program or terminal using .venv, then run setup.bat again."
  goto :stop
)
:venv_create
call :do %PY% -m venv .venv
if errorlevel 1 goto :failed
:venv_done

call :say "[3/5] Choosing the PyTorch build"
set "INDEX=cpu"
set "DRIVER="
for /f "tokens=1 delims=." %%D in ('nvidia-smi --query-gpu^=driver_version --format^=csv^,noheader 2^>nul') do (
  if not defined DRIVER set "DRIVER=%%D"
)
rem A driver version is digits; anything else (nvidia-smi's "NVIDIA-SMI has failed ...") means no usable driver.
if defined DRIVER for /f "delims=0123456789" %%X in ("%DRIVER%") do set "DRIVER="
if not defined DRIVER (
  call :say "      no NVIDIA GPU found (nvidia-smi): the CPU build; VoxTray speaks with edge-tts or the system voice"
  goto :torch_chosen
)
if %DRIVER% GEQ 528 set "INDEX=cu126"
if %DRIVER% GEQ 570 set "INDEX=cu128"
if "%INDEX%"=="cpu" (
  call :say "      NVIDIA driver %DRIVER% is too old for CUDA 12: using the CPU build. Update the driver"
  call :say "      (https://www.nvidia.com/drivers) and run setup.bat again for the cloned voice on the GPU."
)
call :say "      NVIDIA driver %DRIVER%: PyTorch build %INDEX%"
:torch_chosen
set "TORCH_URL=%VOXTRAY_TORCH_INDEX%/%INDEX%"

call :say "[4/5] Installing packages (first time: several minutes)"
call :do "%VPY%" -m pip install --upgrade pip
if errorlevel 1 goto :failed
rem pip keeps an installed torch 2.11.0+cpu as "already satisfied" for torch==2.11.0, so compare the build itself.
set "HAVE="
if exist "%VPY%" for /f "delims=" %%T in ('.venv\Scripts\python.exe -c "import torch; c=torch.version.cuda; print('cpu' if c is None else 'cu'+c.replace('.',''))" 2^>nul') do set "HAVE=%%T"
set "REPLACED="
if not defined HAVE goto :torch_install
if "%HAVE%"=="%INDEX%" goto :torch_install
call :say "      .venv has PyTorch's %HAVE% build, this PC needs %INDEX%: replacing it"
call :do "%VPY%" -m pip install --force-reinstall --no-deps torch==%TORCH% torchaudio==%TORCH% --index-url %TORCH_URL%
if errorlevel 1 goto :failed
set "REPLACED=1"
:torch_install
call :do "%VPY%" -m pip install torch==%TORCH% torchaudio==%TORCH% --index-url %TORCH_URL%
if errorlevel 1 goto :failed
if defined REPLACED if "%HAVE%"=="cpu" call :say "      replaced PyTorch's CPU build with its %INDEX% build"
if defined REPLACED if not "%HAVE%"=="cpu" call :say "      replaced PyTorch's %HAVE% build with its %INDEX% build"
call :do "%VPY%" -m pip install -r requirements.txt
if errorlevel 1 goto :failed

if not defined RUN (
  call :say "[5/5] Done. Start VoxTray with: .venv\Scripts\pythonw.exe voxtray.pyw"
  exit /b 0
)
call :say "[5/5] Starting VoxTray (look for its icon in the tray; python install_service.py install starts it at login)"
if defined DRY (
  echo       would run: start "" ".venv\Scripts\pythonw.exe" "%~dp0voxtray.pyw" run
  exit /b 0
)
start "" ".venv\Scripts\pythonw.exe" "%~dp0voxtray.pyw" run
exit /b 0

rem ---- subroutines ----
rem :probe CMD...: sets PY=CMD when CMD is a 64-bit, non-Store Python 3.11; else WHY=32bit|store (first reason).
rem The answer comes on stdout through for /f (a .bat shim such as pyenv-win's works; no errorlevel needed);
rem stdin is NUL so that a launcher offering to install a missing version cannot wait for an answer.
:probe
set "VERDICT="
for /f "delims=" %%R in ('%* -c "import sys; b=sys.base_prefix.lower(); e=sys.executable.lower()+b; print('other' if sys.version_info[:2]!=(3,11) else '32bit' if sys.maxsize<2**32 else 'store' if 'windowsapps' in b or 'pythonsoftwarefoundation.python.' in e else 'ok')" 2^>nul ^<nul') do set "VERDICT=%%R"
if "%VERDICT%"=="ok" set "PY=%*"
if not defined WHY if "%VERDICT%"=="32bit" set "WHY=32bit"
if not defined WHY if "%VERDICT%"=="store" set "WHY=store"
exit /b 0

rem :say "TEXT": show TEXT and append it to the log (no double quotes or carets in TEXT).
:say
for /f "delims=" %%M in ("%~1") do (
  echo %%M
  >>"%LOG%" echo %%M
)
exit /b 0

:do
if defined DRY (
  echo       would run: %*
  exit /b 0
)
echo       %*
>>"%LOG%" echo       %*
call %*
exit /b %errorlevel%

:nopython
if "%WHY%"=="32bit" (
  call :say "setup: this Python 3.11 is 32-bit; VoxTray needs the 64-bit one (PyTorch has no 32-bit build)."
  call :say "       Install Python 3.11 (64-bit) from https://www.python.org/downloads/windows/ or run: py install 3.11, then run setup.bat again."
) else if "%WHY%"=="store" (
  call :say "setup: this Python 3.11 comes from the Microsoft Store, which VoxTray does not support (its sandbox redirects the files VoxTray writes)."
  call :say "       Install Python 3.11 (64-bit) from https://www.python.org/downloads/windows/ or run: py install 3.11, then run setup.bat again."
) else (
  call :say "setup: Python 3.11 was not found. Install it (64-bit) from https://www.python.org/downloads/windows/ (tick Add python.exe to PATH),"
  call :say "       or run: py install 3.11 (the Python install manager), then run setup.bat again."
)
goto :stop

:failed
call :say "setup: that step failed (see the messages above). Check the internet connection and run setup.bat again."
if defined LONGPATH call :say "       Most likely cause: this folder's path is too long (see the warning above)."
goto :stop

rem Every failure ends here: name the log; a double-clicked window waits for a key so the user can read it.
:stop
if not "%LOG%"=="nul" call :say "      (this run's messages are kept in %CD%\%LOG%)"
if not defined PAUSE_ON_FAIL exit /b 1
echo.
echo Press any key to close this window.
pause >nul
exit /b 1

:help
echo Usage: setup.bat [--no-run] [--dry-run]
echo Sets up VoxTray in .venv ^(CUDA PyTorch when an NVIDIA driver is found^) and starts it.
exit /b 0
