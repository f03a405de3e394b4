; Ferry's Windows installer, made by `scripts/package.sh --windows` with Debian's makensis.
; Our own script rather than the Tauri bundler's NSIS target, because that target downloads
; nsis_tauri_utils.dll from GitHub while it builds (README, "Install"); this one needs nothing
; beyond NSIS itself. Defines passed by package.sh: VERSION, STAGE (a folder with ferry.exe and
; the WebView2Loader.dll of the same build), ICON, COMPRESSOR (lzma, or zlib for test builds),
; OUTFILE.
;
; Installs for all users into Program Files: ferry.exe + WebView2Loader.dll, a Start-menu
; shortcut, an "Apps & features" entry with its uninstaller, and an App Paths entry (Win+R
; "ferry"). The uninstaller keeps the user's data (queue, history, logs) and keyring entries.
; Silent: `Ferry_<version>_x64-setup.exe /S` and `uninstall.exe /S`.
; WebView2: see InstallWebView2 below.

Unicode true
; A 64-bit installer: Ferry is x64 only, and Wine's 64-bit loader can then run it in the tests.
Target amd64-unicode
SetCompressor /SOLID ${COMPRESSOR}

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"

!define PRODUCT "Ferry"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Ferry"
!define APP_PATH_KEY "Software\Microsoft\Windows\CurrentVersion\App Paths\ferry.exe"
; The WebView2 Runtime's client id (Microsoft's docs, "Detect if a WebView2 Runtime is installed").
!define WEBVIEW2_CLIENT "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
!define WEBVIEW2_DOWNLOAD "https://go.microsoft.com/fwlink/p/?LinkId=2124703"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${PRODUCT}"
InstallDirRegKey HKLM "Software\${PRODUCT}" "InstallDir"
RequestExecutionLevel admin
ShowInstDetails nevershow
ShowUninstDetails nevershow

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "${PRODUCT} installer"
VIAddVersionKey /LANG=0 "LegalCopyright" "MIT OR Apache-2.0"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\ferry.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"

LangString NEEDS_X64 ${LANG_ENGLISH} "Ferry needs 64-bit Windows."
LangString NEEDS_X64 ${LANG_SIMPCHINESE} "Ferry 需要 64 位 Windows。"
LangString NEEDS_WEBVIEW2 ${LANG_ENGLISH} "Ferry's window needs the Microsoft Edge WebView2 Runtime, which could not be installed (no connection to Microsoft?). The ferry command line works without it.$\r$\n$\r$\nOpen Microsoft's download of the WebView2 Runtime now?"
LangString NEEDS_WEBVIEW2 ${LANG_SIMPCHINESE} "Ferry 的窗口需要 Microsoft Edge WebView2 Runtime，但未能安装（无法连接微软？）。ferry 命令行不需要它。$\r$\n$\r$\n现在打开微软的 WebView2 Runtime 下载吗？"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "$(NEEDS_X64)" /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

; Installed per machine (HKLM, 32-bit view on 64-bit Windows) or per user (HKCU).
Function HasWebView2
  Push $0
  SetRegView 32
  ReadRegStr $0 HKLM "SOFTWARE\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_CLIENT}" "pv"
  SetRegView 64
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    ReadRegStr $0 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_CLIENT}" "pv"
  ${EndIf}
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    StrCpy $0 0
  ${Else}
    StrCpy $0 1
  ${EndIf}
  Exch $0
FunctionEnd

; What the Tauri bundler's default WebView2 mode (downloadBootstrapper, silent) does: when the
; runtime is missing, fetch Microsoft's bootstrapper (curl.exe is part of Windows 10 1803+) and
; run it silently. If that fails, say so and offer Microsoft's download page (silent installs:
; no). /NOWEBVIEW2 skips the step (the tests under Wine, which must not go online).
Function InstallWebView2
  Call HasWebView2
  Pop $0
  ${If} $0 == 1
    Return
  ${EndIf}
  ${GetParameters} $1
  ClearErrors
  ${GetOptions} $1 "/NOWEBVIEW2" $2
  ${IfNot} ${Errors}
    Return
  ${EndIf}
  DetailPrint "Installing the Microsoft Edge WebView2 Runtime"
  nsExec::ExecToLog '"$SYSDIR\curl.exe" -fsSL -o "$TEMP\MicrosoftEdgeWebview2Setup.exe" "${WEBVIEW2_DOWNLOAD}"'
  Pop $0
  ${If} $0 == 0
    ExecWait '"$TEMP\MicrosoftEdgeWebview2Setup.exe" /silent /install'
    Delete "$TEMP\MicrosoftEdgeWebview2Setup.exe"
  ${EndIf}
  Call HasWebView2
  Pop $0
  ${If} $0 == 0
    MessageBox MB_YESNO|MB_ICONINFORMATION "$(NEEDS_WEBVIEW2)" /SD IDNO IDNO +2
      ExecShell "open" "${WEBVIEW2_DOWNLOAD}"
  ${EndIf}
FunctionEnd

Section "Ferry"
  SetOutPath "$INSTDIR"
  File "${STAGE}\ferry.exe"
  File "${STAGE}\WebView2Loader.dll"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\ferry.exe" "" "$INSTDIR\ferry.exe" 0

  WriteRegStr HKLM "Software\${PRODUCT}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${APP_PATH_KEY}" "" "$INSTDIR\ferry.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "Ferry contributors"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\ferry.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1

  Call InstallWebView2
SectionEnd

Section "Uninstall"
  Delete "$INSTDIR\ferry.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  DeleteRegKey HKLM "${UNINST_KEY}"
  DeleteRegKey HKLM "${APP_PATH_KEY}"
  DeleteRegKey HKLM "Software\${PRODUCT}"
SectionEnd
