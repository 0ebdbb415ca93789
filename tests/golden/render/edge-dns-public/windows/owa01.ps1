# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for owa01 (Office Web Apps Server farm, pool owa)
# topology `edge-dns-public`, scenarios: director-pool-hlb, reverse-proxy, edge-dns-public, internal-servers
# run in an elevated PowerShell on owa01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-1' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: reverse-proxy/internal-interface#3 (flow 17)' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('172.22.1.30') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-2' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: internal-servers/server-ports#42 (flow 170)' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('10.60.0.0/20') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-3' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: internal-servers/server-ports#42 (flow 171)' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('10.60.64.0/18') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-4' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: internal-servers/server-ports#42 (flow 172)' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('10.60.32.0/24') | Out-Null

Write-Host 'portplan: 4 rule(s) in group portplan on owa01'
