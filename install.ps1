<#
.SYNOPSIS
Installs cco, the local gateway between Claude Code and the Anthropic API, for
the current user on Windows, from a release of github.com/visiquate/cco.

.DESCRIPTION
Run it with -Help for the parameters and variables. It downloads the
windows-x86_64 archive and checksums.sha256 into a private temporary folder,
checks the archive's SHA-256 against its line in checksums.sha256 and, when
cosign is installed, checks the signature of checksums.sha256 with cco's
release key (below). It then runs the new `cco.exe version`, and only then
puts cco.exe into the install folder and adds that folder to the user's PATH.
No administrator rights are needed.

Everything happens in functions called on the last lines, so a download of
this script cut short runs nothing. It works in Windows PowerShell 5.1 and
PowerShell 7.

.EXAMPLE
irm https://raw.githubusercontent.com/visiquate/cco/main/install.ps1 | iex

.EXAMPLE
& ([scriptblock]::Create((irm https://raw.githubusercontent.com/visiquate/cco/main/install.ps1))) -Channel beta
#>
[CmdletBinding()]
param(
    [string]$Version = '',
    [string]$Channel = '',
    [string]$Dir = '',
    [switch]$Help
)

function Install-Cco {
    param(
        [string]$Version,
        [string]$Channel,
        [string]$Dir
    )
    # Set here, not at the top: with `irm | iex` the top of the script runs
    # in the caller's session.
    $ErrorActionPreference = 'Stop'
    # The progress bar makes Invoke-WebRequest many times slower in 5.1.
    $ProgressPreference = 'SilentlyContinue'

    $repo = 'visiquate/cco'
    # The public half of cco's release signing key: packaging/cosign.pub (a
    # test checks that they are the same).
    $publicKey = @'
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECoy6CDbUY6ZwBQs1TuaO2kj/k/zg
i65eCwhkoUqEeRVk3NLoxpsDfkposjMgbarQGlyFL4afBWtDYvMcPndbrA==
-----END PUBLIC KEY-----
'@

    if ($PSVersionTable.PSVersion.Major -ge 6 -and -not $IsWindows) {
        throw 'cco install: install.ps1 is for Windows; on Linux and macOS use install.sh'
    }
    $cpu = $env:PROCESSOR_ARCHITEW6432
    if (-not $cpu) { $cpu = $env:PROCESSOR_ARCHITECTURE }
    if ($cpu -ne 'AMD64' -and $cpu -ne 'ARM64') {
        throw "cco install: no cco build for this CPU ($cpu): cco for Windows runs on x86_64 (and on ARM64 through emulation)"
    }

    # Parameters win over variables.
    if (-not $Version) { $Version = "$env:CCO_VERSION" }
    if (-not $Channel) { $Channel = "$env:CCO_CHANNEL" }
    if (-not $Channel) { $Channel = 'stable' }
    if ($Channel -ne 'stable' -and $Channel -ne 'beta') {
        throw "cco install: unknown channel '$Channel': use stable or beta"
    }
    if (-not $Dir) { $Dir = "$env:CCO_INSTALL_DIR" }
    if (-not $Dir) {
        if (-not $env:LOCALAPPDATA) {
            throw 'cco install: LOCALAPPDATA is not set: choose a folder with -Dir or CCO_INSTALL_DIR'
        }
        $Dir = Join-Path $env:LOCALAPPDATA 'Programs\cco'
    }
    # Relative to PowerShell's current folder, which need not be the process's.
    $Dir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Dir)
    $apiUrl = "$env:CCO_GITHUB_API_URL".TrimEnd('/')
    if (-not $apiUrl) { $apiUrl = 'https://api.github.com' }
    $downloadUrl = "$env:CCO_DOWNLOAD_URL".TrimEnd('/')
    if (-not $downloadUrl) { $downloadUrl = "https://github.com/$repo/releases/download" }

    # Windows PowerShell 5.1 on older .NET does not offer TLS 1.2 by itself.
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

    $apiHeaders = @{
        'Accept'               = 'application/vnd.github+json'
        'X-GitHub-Api-Version' = '2022-11-28'
    }
    if ($env:GITHUB_TOKEN) { $apiHeaders['Authorization'] = "Bearer $env:GITHUB_TOKEN" }

    # Choose the tag.
    if ($Version) {
        $Version = $Version -replace '^v', ''
        if ($Version -notmatch '^[0-9][0-9A-Za-z.+-]*$') {
            throw "cco install: bad version '$Version': use a release version such as 2025.11.2"
        }
        $tag = "v$Version"
    } elseif ($Channel -eq 'beta') {
        $url = "$apiUrl/repos/$repo/releases?per_page=30"
        try {
            $releases = Invoke-RestMethod -Uri $url -Headers $apiHeaders -UseBasicParsing
        } catch {
            throw "cco install: cannot list the releases at ${url} (the API's rate limit? set GITHUB_TOKEN): $($_.Exception.Message)"
        }
        $tag = $null
        # foreach, not the pipeline: 5.1 passes a JSON array down a pipeline
        # as one object. GitHub lists the newest first.
        foreach ($release in @($releases)) {
            if (-not $release.draft) {
                $tag = [string]$release.tag_name
                break
            }
        }
        if (-not $tag) { throw "cco install: no published release at $url" }
    } else {
        $url = "$apiUrl/repos/$repo/releases/latest"
        try {
            $release = Invoke-RestMethod -Uri $url -Headers $apiHeaders -UseBasicParsing
        } catch {
            throw "cco install: cannot read the latest release from ${url} (no stable release yet, or the API's rate limit: set GITHUB_TOKEN; or pick one with -Version or -Channel beta): $($_.Exception.Message)"
        }
        $tag = [string]$release.tag_name
    }
    if ($tag -notmatch '^v[0-9][0-9A-Za-z.+-]*$') {
        throw "cco install: unexpected release tag '$tag' from $apiUrl"
    }
    $Version = $tag.Substring(1)
    $archive = "cco-v$Version-windows-x86_64.zip"
    $baseUrl = "$downloadUrl/$tag"
    Write-Host "Installing cco $tag (windows-x86_64) into $Dir"

    $tmp = Join-Path ([IO.Path]::GetTempPath()) ('cco-install-' + [Guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $tmp | Out-Null
    try {
        $archivePath = Join-Path $tmp $archive
        $sumsPath = Join-Path $tmp 'checksums.sha256'
        try {
            Invoke-WebRequest -Uri "$baseUrl/$archive" -OutFile $archivePath -UseBasicParsing
        } catch {
            throw "cco install: cannot download $baseUrl/${archive}: is $tag a cco release with a Windows build? ($($_.Exception.Message))"
        }
        try {
            Invoke-WebRequest -Uri "$baseUrl/checksums.sha256" -OutFile $sumsPath -UseBasicParsing
        } catch {
            throw "cco install: cannot download $baseUrl/checksums.sha256: without it the archive cannot be verified; nothing installed ($($_.Exception.Message))"
        }

        # The signature of checksums.sha256, when cosign can check it.
        $cosign = Get-Command cosign -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($cosign) {
            $sigPath = Join-Path $tmp 'checksums.sha256.sig'
            $keyPath = Join-Path $tmp 'cosign.pub'
            try {
                Invoke-WebRequest -Uri "$baseUrl/checksums.sha256.sig" -OutFile $sigPath -UseBasicParsing
            } catch {
                throw "cco install: cannot download $baseUrl/checksums.sha256.sig: without it the release cannot be verified; nothing installed"
            }
            [IO.File]::WriteAllText($keyPath, $publicKey + "`n", (New-Object Text.UTF8Encoding($false)))
            $result = Invoke-Native $cosign.Path @('verify-blob', '--key', $keyPath, '--signature', $sigPath, '--insecure-ignore-tlog=true', $sumsPath)
            if ($result.ExitCode -ne 0) {
                Write-Host $result.Output
                throw "cco install: the signature of checksums.sha256 does not verify with cco's release key: refusing to install"
            }
            Write-Host 'Verified the signature of checksums.sha256 with cosign.'
        } else {
            Write-Host 'Note: cosign is not installed, so the signature of checksums.sha256 was not checked (the SHA-256 checksum was).'
        }

        # The archive's line in checksums.sha256: "HASH  NAME".
        $want = $null
        foreach ($line in Get-Content -LiteralPath $sumsPath) {
            $fields = $line.Trim() -split '\s+', 2
            if ($fields.Count -eq 2 -and $fields[1].TrimStart('*') -ceq $archive) {
                $want = $fields[0].ToLowerInvariant()
                break
            }
        }
        if (-not $want) {
            throw "cco install: checksums.sha256 of $tag has no line for ${archive}: refusing to install"
        }
        if ($want -notmatch '^[0-9a-f]{64}$') {
            throw "cco install: checksums.sha256 of $tag has a malformed line for ${archive}: refusing to install"
        }
        $got = (Get-FileHash -LiteralPath $archivePath -Algorithm SHA256).Hash.ToLowerInvariant()
        if ($got -ne $want) {
            throw "cco install: checksum mismatch for ${archive}: it has SHA-256 $got, but checksums.sha256 says $want; refusing to install"
        }
        Write-Host "Verified the SHA-256 of $archive."

        $extracted = Join-Path $tmp 'x'
        Expand-Archive -LiteralPath $archivePath -DestinationPath $extracted -Force
        $newExe = Join-Path $extracted 'cco.exe'
        if (-not (Test-Path -LiteralPath $newExe -PathType Leaf)) {
            throw "cco install: $archive holds no cco.exe"
        }
        $result = Invoke-Native $newExe @('version')
        if ($result.ExitCode -ne 0) {
            Write-Host $result.Output
            throw 'cco install: the downloaded cco.exe does not run on this machine: nothing installed'
        }
        $versionLine = ($result.Output -split "`r?`n")[0]

        # Into place: copy next to the target, then rename. A running
        # cco.exe cannot be overwritten or deleted, but it can be renamed
        # aside; the renamed copy is deleted now or by the next install.
        New-Item -ItemType Directory -Path $Dir -Force | Out-Null
        $target = Join-Path $Dir 'cco.exe'
        $staged = Join-Path $Dir 'cco.exe.new'
        Get-ChildItem -LiteralPath $Dir -Filter 'cco.exe.old-*' -ErrorAction SilentlyContinue |
            Remove-Item -Force -ErrorAction SilentlyContinue
        Copy-Item -LiteralPath $newExe -Destination $staged -Force
        Unblock-File -LiteralPath $staged -ErrorAction SilentlyContinue
        $old = $null
        if (Test-Path -LiteralPath $target) {
            $old = Join-Path $Dir ('cco.exe.old-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
            Move-Item -LiteralPath $target -Destination $old
        }
        try {
            Move-Item -LiteralPath $staged -Destination $target
        } catch {
            if ($old) { Move-Item -LiteralPath $old -Destination $target -ErrorAction SilentlyContinue }
            Remove-Item -LiteralPath $staged -Force -ErrorAction SilentlyContinue
            throw "cco install: cannot move the new cco.exe into ${Dir}: $($_.Exception.Message)"
        }
        if ($old) { Remove-Item -LiteralPath $old -Force -ErrorAction SilentlyContinue }
        Write-Host "Installed ${target}: $versionLine"
    } finally {
        Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
    }

    # The user's PATH (HKCU\Environment), for new terminals, and this
    # session's. GetEnvironmentVariable returns it with %VARIABLES%
    # expanded, so entries keep working when it is written back.
    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    $entries = @()
    if ($userPath) { $entries = @($userPath -split ';' | Where-Object { $_ }) }
    $present = $false
    foreach ($entry in $entries) {
        if ($entry.TrimEnd('\') -ieq $Dir.TrimEnd('\')) { $present = $true }
    }
    if (-not $present) {
        [Environment]::SetEnvironmentVariable('Path', (($entries + $Dir) -join ';'), 'User')
        Write-Host "Added $Dir to your user PATH: open a new terminal to use cco."
    }
    if (-not (($env:Path -split ';') | Where-Object { $_.TrimEnd('\') -ieq $Dir.TrimEnd('\') })) {
        $env:Path = "$env:Path;$Dir"
    }
}

function Show-CcoUsage {
    # Prints the help.
    Write-Host @'
Usage: install.ps1 [-Version V] [-Channel stable|beta] [-Dir DIR] [-Help]

Installs cco for the current user from a release of github.com/visiquate/cco,
after checking the archive's SHA-256 against the release's checksums.sha256.

Parameters:
  -Version V        install release V, such as 2025.11.2 or v2025.11.2
                    (default: chosen by the channel)                  [CCO_VERSION]
  -Channel CHANNEL  stable: the latest release (default);
                    beta: the newest release, prereleases included    [CCO_CHANNEL]
  -Dir DIR          install cco.exe into DIR, created if missing
                    (default: $env:LOCALAPPDATA\Programs\cco)          [CCO_INSTALL_DIR]
  -Help             print this help

A parameter wins over its variable. Other variables:
  CCO_GITHUB_API_URL  base URL of the GitHub API (default https://api.github.com)
  CCO_DOWNLOAD_URL    base URL of release downloads; files are fetched from
                      $env:CCO_DOWNLOAD_URL/<tag>/<file>
                      (default https://github.com/visiquate/cco/releases/download)
  GITHUB_TOKEN        if set, sent as a bearer token to the GitHub API only
                      (it raises the API's rate limit)

The install folder is added to the user's PATH if it is not there. If cosign
is on PATH, the signature of checksums.sha256 (checksums.sha256.sig) must also
verify with cco's release key, which is part of this script; without cosign it
is not checked, and the script says so.
'@
}

function Invoke-Native {
    # Runs the program $Path with $Arguments and returns its exit code and
    # its output, stderr included. With $ErrorActionPreference = 'Stop',
    # Windows PowerShell 5.1 turns any stderr line of a native program into
    # a terminating error, so the call runs under 'Continue'.
    param(
        [string]$Path,
        [string[]]$Arguments
    )
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $output = @(& $Path @Arguments 2>&1 | ForEach-Object { "$_" })
        $code = $LASTEXITCODE
    } catch {
        # The program could not start at all.
        $output = @("$_")
        $code = -1
    } finally {
        $ErrorActionPreference = $saved
    }
    if ($null -eq $code) { $code = -1 }
    return [pscustomobject]@{ ExitCode = $code; Output = ($output -join "`n") }
}

if ($Help) {
    Show-CcoUsage
} else {
    Install-Cco -Version $Version -Channel $Channel -Dir $Dir
}
