# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for owa01 (Office Web Apps Server farm, pool owa)
# topology `sfb2019-hybrid`, scenarios: director-pool-hlb, reverse-proxy, sfb-edge-hlb, hybrid
# run in an elevated PowerShell on owa01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r24' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: plan rules r24; catalog reverse-proxy/internal-interface#3' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.10.3.11') -RemoteAddress @('172.25.33.30') | Out-Null

Write-Host 'portplan: 1 rule(s) in group portplan on owa01'
