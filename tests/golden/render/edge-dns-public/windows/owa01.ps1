# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for owa01 (Office Web Apps Server farm, pool owa)
# topology `edge-dns-public`, scenarios: director-pool-hlb, reverse-proxy, edge-dns-public, internal-servers
# run in an elevated PowerShell on owa01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r18' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: plan rules r18; catalog reverse-proxy/internal-interface#3' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('172.22.1.30') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-443' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog internal-servers/server-ports#42' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('10.60.0.0/20') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r174' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: plan rules r174; catalog internal-servers/server-ports#42' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('10.60.64.0/18') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r128' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: plan rules r128; catalog internal-servers/server-ports#42' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.60.5.11') -RemoteAddress @('10.60.32.0/24') | Out-Null

Write-Host 'portplan: 4 rule(s) in group portplan on owa01'
