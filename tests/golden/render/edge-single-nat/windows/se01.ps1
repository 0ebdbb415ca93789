# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for se01 (Front End pool, pool se)
# topology `edge-single-nat`, scenarios: reverse-proxy, director-single, edge-single-nat
# run in an elevated PowerShell on se01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r17' -DisplayName 'portplan HTTP TCP 8080 in' -Description 'Lync/Skype for Business: plan rules r17; catalog reverse-proxy/internal-interface#1' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 8080 -LocalAddress @('10.30.2.11') -RemoteAddress @('172.16.20.30') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r18' -DisplayName 'portplan HTTPS TCP 4443 in' -Description 'Lync/Skype for Business: plan rules r18; catalog reverse-proxy/internal-interface#2' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 4443 -LocalAddress @('10.30.2.11') -RemoteAddress @('172.16.20.30') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-444' -DisplayName 'portplan HTTPS TCP 444 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#3' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 444 -LocalAddress @('10.30.2.11') -RemoteAddress @('10.30.1.11') | Out-Null

Write-Host 'portplan: 3 rule(s) in group portplan on se01'
