# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for se01 (Front End pool, pool se)
# topology `edge-single-public`, scenarios: reverse-proxy, edge-single-public
# run in an elevated PowerShell on se01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r14' -DisplayName 'portplan HTTPS TCP 4443 in' -Description 'Lync/Skype for Business: plan rules r14; catalog reverse-proxy/internal-interface#2' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 4443 -LocalAddress @('10.40.2.11') -RemoteAddress @('172.18.1.30') | Out-Null

Write-Host 'portplan: 1 rule(s) in group portplan on se01'
