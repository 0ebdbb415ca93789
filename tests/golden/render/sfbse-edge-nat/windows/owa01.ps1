# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for owa01 (Office Web Apps Server farm, pool owa)
# topology `sfbse-edge-nat`, scenarios: reverse-proxy, director-single, sfb-edge-nat, sfb-video-screen-sharing
# run in an elevated PowerShell on owa01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r18' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: plan rules r18; catalog reverse-proxy/internal-interface#3' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('192.168.10.31') -RemoteAddress @('172.25.33.40') | Out-Null

Write-Host 'portplan: 1 rule(s) in group portplan on owa01'
