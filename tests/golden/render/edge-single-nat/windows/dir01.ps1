# portplan: Lync Server 2013 / Skype for Business Windows Firewall rules for dir01 (Director or Director pool, pool dir)
# topology `edge-single-nat`, scenarios: reverse-proxy, director-single, edge-single-nat
# run in an elevated PowerShell on dir01; idempotent: the `portplan` group is replaced
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$group = 'portplan'
Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule

New-NetFirewallRule -Group $group -Name 'portplan-in-r17' -DisplayName 'portplan HTTP TCP 8080 in' -Description 'Lync/Skype for Business: plan rules r17; catalog reverse-proxy/internal-interface#1 director-single/director#1' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 8080 -LocalAddress @('10.30.1.11') -RemoteAddress @('172.16.20.30') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r18' -DisplayName 'portplan HTTPS TCP 4443 in' -Description 'Lync/Skype for Business: plan rules r18; catalog reverse-proxy/internal-interface#2 director-single/director#2' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 4443 -LocalAddress @('10.30.1.11') -RemoteAddress @('172.16.20.30') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-out-same-zone-tcp-444' -DisplayName 'portplan HTTPS TCP 444 out' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#3' -Direction Outbound -Action Allow -Profile Any -Protocol TCP -RemotePort 444 -LocalAddress @('10.30.1.11') -RemoteAddress @('10.30.2.11') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-80' -DisplayName 'portplan HTTP TCP 80 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#4' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 80 -LocalAddress @('10.30.1.11') -RemoteAddress @('10.30.100.0/24') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-same-zone-tcp-443' -DisplayName 'portplan HTTPS TCP 443 in' -Description 'Lync/Skype for Business: no network firewall rule (the flow stays in one zone); catalog director-single/director#5' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 443 -LocalAddress @('10.30.1.11') -RemoteAddress @('10.30.100.0/24') | Out-Null
New-NetFirewallRule -Group $group -Name 'portplan-in-r22' -DisplayName 'portplan SIP/MTLS TCP 5061 in' -Description 'Lync/Skype for Business: plan rules r22; catalog director-single/director#6' -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort 5061 -LocalAddress @('10.30.1.11') -RemoteAddress @('172.16.20.10') | Out-Null

Write-Host 'portplan: 6 rule(s) in group portplan on dir01'
